"""The nearest-neighbour metrics work on blocks of rows: the same numbers as the whole distance matrix,
and no block larger than `chunk` rows (so 50,000 samples fit in a few hundred MB)."""

import pytest
import torch

from genedu.evaluate import metrics as M


def _full(a, b):  # the whole all-pairs matrix at once: the definition the chunked code must match
    return torch.cdist(a.float(), b.float())


def _reference(real, fake, k_pr=3, k_dc=5):
    d_rr, d_ff, d_fr = _full(real, real), _full(fake, fake), _full(fake, real)
    rr3 = d_rr.kthvalue(k_pr + 1, dim=1).values
    fr3 = d_ff.kthvalue(k_pr + 1, dim=1).values
    rr5 = d_rr.kthvalue(k_dc + 1, dim=1).values
    precision = (d_fr <= rr3[None, :]).any(1).double().mean().item()
    recall = (d_fr.T <= fr3[None, :]).any(1).double().mean().item()
    inside = d_fr <= rr5[None, :]
    return {"radii": rr3, "precision": precision, "recall": recall,
            "density": inside.sum(1).double().mean().item() / k_dc, "coverage": inside.any(0).double().mean().item(),
            "nearest": d_fr.min(1).values}


@pytest.fixture
def sets():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(83, 16, generator=g, dtype=torch.float64)
    fake = torch.randn(61, 16, generator=g, dtype=torch.float64) * 1.2 + 0.3
    return real, fake


@pytest.fixture
def block_sizes(monkeypatch):
    """Record the rows of every distance block the metrics compute."""
    seen = []
    cdist = torch.cdist

    def recording(a, b, *args, **kwargs):
        seen.append(len(a))
        return cdist(a, b, *args, **kwargs)

    monkeypatch.setattr(M.torch, "cdist", recording)
    return seen


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_chunked_metrics_equal_the_whole_matrix(sets, block_sizes, chunk):
    real, fake = sets
    want = _reference(real, fake)
    block_sizes.clear()
    assert torch.allclose(M.knn_radii(real, 3, chunk=chunk), want["radii"], atol=1e-5)
    assert torch.allclose(M.nearest_distances(fake, real, chunk), want["nearest"], atol=1e-5)
    p, r = M.precision_recall(real, fake, k=3, chunk=chunk)
    d, c = M.density_coverage(real, fake, k=5, chunk=chunk)
    assert (p, r) == pytest.approx((want["precision"], want["recall"]))
    assert (d, c) == pytest.approx((want["density"], want["coverage"]))
    assert 0 < p < 1 and 0 < r < 1 and 0 < c < 1  # a case where every number means something
    assert max(block_sizes) == min(chunk, len(real))  # never more rows at once than asked


def test_memorisation_is_the_same_in_chunks(sets):
    real, fake = sets
    test = real[:40] + 0.05
    whole = M.memorisation(real, fake, test, chunk=10_000)
    assert M.memorisation(real, fake, test, chunk=3) == pytest.approx(whole, rel=1e-4)  # float32 distances


def test_too_few_points_for_k_is_named():
    with pytest.raises(ValueError, match="needs at least 4 points, got 3"):
        M.knn_radii(torch.randn(3, 2), 3)
