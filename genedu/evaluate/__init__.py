"""Offline evaluation: the genedu MNIST feature classifier and the metrics measured in its feature space.

    from genedu.evaluate import evaluate_samples
    print(evaluate_samples(samples).table())   # samples: (N, 1, 28, 28) in [-1, 1]
"""

from .classifier import (FEATURE_DIM, MNISTClassifier, class_histogram, classifier_info, classifier_outputs,
                         load_classifier, predict_labels, train_classifier)
from .metrics import (class_kl, density_coverage, fid, frechet_distance, gaussian_stats, inception_score, kid,
                      memorisation, precision_recall, sqrtm_psd)
from .report import MIN_STABLE_FID, Report, calibration, check_samples, evaluate_samples, real_features

__all__ = [
    "FEATURE_DIM", "MNISTClassifier", "load_classifier", "classifier_info", "classifier_outputs", "predict_labels",
    "class_histogram", "train_classifier", "fid", "frechet_distance", "gaussian_stats", "sqrtm_psd", "kid",
    "inception_score", "class_kl", "precision_recall", "density_coverage", "memorisation",
    "Report", "evaluate_samples", "calibration", "check_samples", "real_features", "MIN_STABLE_FID",
]
