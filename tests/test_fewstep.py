"""The few-step flow (a distilled shortcut model): jump-size conditioning, the teacher's paths, the
distillation loss, sampling in the learned step counts only, and a checkpoint round trip."""

import pytest
import torch

from genedu.checkpoint import load_model, save_checkpoint
from genedu.models.flow import Flow, FlowConfig, TeacherPaths, few_step_student, teacher_paths
from genedu.train import fit


def tiny_teacher():
    torch.manual_seed(0)
    return Flow(FlowConfig(channels=(8, 16), emb_dim=32, num_classes=10))


def test_config_refuses_step_counts_that_do_not_divide_the_largest():
    with pytest.raises(ValueError, match="divide the largest"):
        FlowConfig(few_steps=(1, 3, 4))
    with pytest.raises(ValueError, match="distinct positive"):
        FlowConfig(few_steps=(0, 2))
    with pytest.raises(ValueError, match="few_step_loss"):
        FlowConfig(few_steps=(1, 2), few_step_loss="l1")
    assert FlowConfig(few_steps=(4, 1, 2)).few_steps == (1, 2, 4)


def test_teacher_paths_hold_the_teachers_own_solution_at_evenly_spaced_times():
    teacher = tiny_teacher()
    paths = teacher_paths(teacher, 12, segments=2, steps_per_segment=2, method="euler", batch_size=5)
    assert paths.states.shape == (12, 3, 1, 28, 28) and paths.labels.tolist()[:11] == list(range(10)) + [0]
    # the same noise solved by the teacher's sampler ends where the paths end
    eps = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    end = teacher.sample(5, labels=paths.labels[:5], noise=eps, method="euler", steps=4)
    assert torch.allclose(paths.states[:5, -1], end, atol=1e-5)
    assert torch.allclose(paths.states[:5, 0], eps)  # k = 0 is the noise at t = 1


def test_student_starts_as_its_teacher_and_only_its_jump_embedding_is_new():
    teacher = tiny_teacher()
    student = few_step_student(teacher, (1, 2))
    labels = torch.arange(6) % 10
    for k in (1, 2):
        a = teacher.sample(6, labels=labels, generator=torch.Generator().manual_seed(1), method="euler", steps=k)
        b = student.sample(6, labels=labels, generator=torch.Generator().manual_seed(1), method="euler", steps=k)
        assert torch.allclose(a, b, atol=1e-6)
    new = {k for k in student.state_dict()} - {k for k in teacher.state_dict()}
    assert new and all(k.startswith("net.step_mlp.") for k in new)


def test_few_step_loss_is_zero_when_the_velocity_lands_on_the_teacher():
    """The target (x_a - x_b) / d is exactly the velocity that lands on x_b: check against a hand-made
    student whose network returns that target."""
    teacher = tiny_teacher()
    student = few_step_student(teacher, (1, 2))
    paths = teacher_paths(teacher, 4, segments=2, steps_per_segment=1, method="euler")
    states = paths.states

    def oracle(x, t, y, d):  # the exact jump from the state at t to the one at t - d
        k = torch.round((1 - t) * 2).long()
        S = torch.round(1 / d).long()
        b = k + 2 // S
        rows = torch.tensor([int(torch.nonzero((states[:, i] - x[j]).abs().amax((1, 2, 3)) < 1e-6)[0])
                             for j, i in enumerate(k.tolist())])
        return (x - states[rows, b]) / d.view(-1, 1, 1, 1)

    student.velocity = oracle
    loss = student.few_step_loss_per_example(states, paths.labels)
    assert loss["loss"].shape == (4,) and torch.allclose(loss["loss"], torch.zeros(4), atol=1e-10)


def test_training_lowers_the_loss_and_sampling_takes_only_learned_steps(tmp_path):
    teacher = tiny_teacher()
    paths = teacher_paths(teacher, 64, segments=2, steps_per_segment=1, method="euler")
    student = few_step_student(teacher, (1, 2), lr=3e-3)
    h = fit(student, paths, steps=30, batch_size=32, progress=False)
    assert h.mean("loss", last=5) < h["loss"][0]
    assert {"v_mse_1step", "v_mse_2step"} <= set(h.keys())
    labels = torch.arange(4)
    for k in (1, 2):
        x = student.sample(4, labels=labels, method="euler", steps=k)
        assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    with pytest.raises(ValueError, match="learned Euler jumps"):
        student.sample(4, labels=labels, method="euler", steps=3)
    with pytest.raises(ValueError, match="learned Euler jumps"):
        student.sample(4, labels=labels, method="heun", steps=2)
    with pytest.raises(ValueError, match="needs d"):
        student.velocity(torch.zeros(1, 1, 28, 28), torch.zeros(1))
    path = save_checkpoint(tmp_path / "s.pt", student)
    again = load_model(path)
    assert again.config.few_steps == (1, 2)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert torch.equal(again.sample(4, labels=labels, generator=g(), method="euler", steps=1),
                       student.sample(4, labels=labels, generator=g(), method="euler", steps=1))


def test_an_ordinary_flow_refuses_a_jump_size_and_a_batch_of_images_is_not_a_path():
    teacher = tiny_teacher()
    with pytest.raises(ValueError, match="step-conditioned"):
        teacher.net(torch.zeros(1, 1, 28, 28), torch.zeros(1), None, torch.ones(1))
    student = few_step_student(teacher, (1, 2))
    opt = student.configure_optimizers()
    with pytest.raises(ValueError, match="teacher's paths"):
        student.train_step((torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long)), opt)
    with pytest.raises(ValueError, match="teacher paths need"):
        TeacherPaths(torch.zeros(3, 1, 28, 28), torch.zeros(3))
    with pytest.raises(ValueError, match="segments"):
        few_step_student(teacher, (1, 4)).few_step_loss_per_example(torch.zeros(2, 3, 1, 28, 28), None)
    with pytest.raises(ValueError, match="divide the largest"):
        few_step_student(teacher, (1, 3, 4))
