import pytest
import torch

import genedu


@pytest.fixture(scope="session")
def train_data():
    """The 55,000 training images (extracted once into $GENEDU_DATA by the first test that needs them)."""
    return genedu.load_mnist("train")


@pytest.fixture(scope="session")
def small_train(train_data):
    """2,048 training images: enough for a few real training steps in a unit test."""
    return train_data.subset(torch.arange(2048))
