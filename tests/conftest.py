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


def pytest_configure(config):
    config.addinivalue_line("markers", "widgets: builds a genedu widget headless (CI also runs these against "
                                       "Colab's ipywidgets 7.7.1: `pytest -m widgets tests`)")


def pytest_collection_modifyitems(items):
    """Mark every test that builds a genedu widget, found from what it uses rather than by hand, so a new
    widget test is in the Colab check without anyone remembering to mark it."""
    import inspect

    for item in items:
        fn = getattr(item, "function", None)
        if fn is None:
            continue
        module_uses = any(getattr(v, "__module__", None) == "genedu.widgets" for v in vars(item.module).values())
        try:
            function_uses = "genedu.widgets" in inspect.getsource(fn)
        except (OSError, TypeError):
            function_uses = False
        if module_uses or function_uses:
            item.add_marker("widgets")
