"""Lesson 03b's two measuring helpers in genedu.flow_plots: the held-out flow-matching loss and the reflow table."""

import pytest
import torch

from genedu.data import MNIST
from genedu.flow_plots import heldout_flow_loss, reflow_table
from genedu.models.flow import Flow, FlowConfig, path_sample


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = Flow(FlowConfig(channels=(8, 16), emb_dim=16)).eval()
    with torch.no_grad():  # the UNet's last layer starts at zero (v = 0): give it a random, non-zero field
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    data = MNIST(torch.randint(0, 256, (20, 28, 28), dtype=torch.uint8), torch.arange(20) % 10, "test")
    return model, data


def test_heldout_flow_loss_is_the_flow_matching_loss_on_fixed_inputs(tiny):
    model, data = tiny
    got = heldout_flow_loss(model, data, n=8, seed=3)
    x0, y = data.float(torch.arange(8)), data.labels[:8]  # the same computation, written out
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
    t = torch.rand(8, generator=torch.Generator().manual_seed(4))
    x_t, u_t = path_sample(x0, eps, t)
    with torch.no_grad():
        want = (model.velocity(x_t, t, y if model.conditional else None) - (eps - x0)).pow(2).mean().item()
    assert torch.allclose(u_t, eps - x0)
    assert got == pytest.approx(want, rel=1e-6)
    assert heldout_flow_loss(model, data, n=8, seed=3) == got  # fixed t and eps: the same number every call
    assert heldout_flow_loss(model, data, n=8, seed=5) != got


def test_heldout_flow_loss_of_a_zero_field_is_the_target_energy(tiny):
    _, data = tiny
    zero = Flow(FlowConfig(channels=(8, 16), emb_dim=16)).eval()  # the last layer starts at zero: v = 0
    x0 = data.float(torch.arange(4))
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(30))
    assert heldout_flow_loss(zero, data, n=4) == pytest.approx((eps - x0).pow(2).mean().item(), rel=1e-6)


def test_heldout_flow_loss_refuses_more_digits_than_the_split_holds(tiny):
    model, data = tiny
    with pytest.raises(ValueError, match="between 1 and the 20 digits"):
        heldout_flow_loss(model, data, n=21)


RECORD = {"what": "one round of reflow, FID on 10,000 samples",
          "machine": "GPU X; 16 CPU(s)",
          "parent": {"straightness": 0.06, "fid_euler": {"1": 500.0, "2": 40.0}},
          "variants": {"uniform": {"straightness": 0.002, "fid_euler": {"1": 10.0, "2": 5.0},
                                   "couplings": 60000, "coupling_solver": {"method": "midpoint", "steps": 10},
                                   "trained": {"seconds": 249.7}}}}


def test_reflow_table_rows_ratios_and_provenance():
    lines = reflow_table(RECORD).splitlines()
    assert len(lines) == 4  # header, parent, one variant, where the numbers come from
    assert "FID at 1, 2 Euler steps" in lines[0]
    assert lines[1].split("|")[0].strip() == "reference flow" and "500.0, 40.0" in lines[1]
    assert "30x" in lines[2] and "10.0, 5.0" in lines[2] and "0.0020" in lines[2]  # 0.06 / 0.002 = 30
    assert lines[3].startswith("where these numbers come from: one round of reflow")
    assert "60000 couplings (midpoint, 10 steps); training uniform 249.7 s;" in lines[3] and lines[3].endswith("GPU X")


def test_reflow_table_names_what_it_expected():
    with pytest.raises(ValueError, match="'parent' and 'variants'.*found \\['what'\\]"):
        reflow_table({"what": "no figures"})
    with pytest.raises(ValueError, match="found list"):
        reflow_table([])


def test_few_step_gaps_compare_a_student_and_its_teacher_on_the_same_noise():
    from genedu.models.flow import Flow, FlowConfig, few_step_student

    torch.manual_seed(0)
    teacher = Flow(FlowConfig(channels=(8, 16), emb_dim=32, num_classes=10))
    student = few_step_student(teacher, (1, 2))  # untrained: it lands exactly where the teacher's Euler does
    from genedu import flow_plots

    rows, gaps = flow_plots.few_step_gaps(student, teacher, {"method": "midpoint", "steps": 2}, n=6)
    assert set(rows) == {"teacher, 4 calls", "few-step, 1 call(s)", "teacher Euler, 1 call(s)",
                         "few-step, 2 call(s)", "teacher Euler, 2 call(s)"}
    assert all(r.shape == (6, 1, 28, 28) for r in rows.values())
    for a, b in gaps.values():
        assert a == pytest.approx(b, abs=1e-7) and a >= 0
    with pytest.raises(ValueError, match="few-step flow"):
        flow_plots.few_step_gaps(teacher, teacher, {"method": "midpoint", "steps": 2}, n=6)
