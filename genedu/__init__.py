"""genedu: a hands-on course on generative models (VAE, GAN, diffusion) on MNIST.

The public names are re-exported here. Importing genedu loads torch but not matplotlib or
ipywidgets: `genedu.plots` and `genedu.widgets` are imported when used.
"""

from ._version import __version__
from .checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from .data import MNIST, MNISTError, binarize, load_mnist, prepare_mnist
from .models.base import GenerativeModel, build_model
from .models.vae import VAE, VAEConfig
from .models.gan import GAN, GANConfig
from .models.diffusion import Diffusion, DiffusionConfig, NoiseSchedule
from .train import EMA, History, TrainingDiverged, fit
from .utils import default_device, fast_mode, seed_everything

__all__ = [
    "__version__", "MNIST", "MNISTError", "load_mnist", "prepare_mnist", "binarize",
    "GenerativeModel", "build_model", "VAE", "VAEConfig", "GAN", "GANConfig",
    "Diffusion", "DiffusionConfig", "NoiseSchedule",
    "fit", "History", "EMA", "TrainingDiverged",
    "save_checkpoint", "load_checkpoint", "load_model", "CheckpointError",
    "default_device", "fast_mode", "seed_everything",
]
