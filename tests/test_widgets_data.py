import torch

from genedu.widgets import digit_browser, shown_png


def test_digit_browser_shows_the_chosen_class_and_pages(train_data):
    data = train_data.subset(torch.arange(3000))
    box = digit_browser(data, per_page=16)
    assert (data.labels[box.shown] == 0).all()
    png0 = shown_png(box.output)
    assert png0.startswith(b"\x89PNG")
    box.digit.value = 4
    assert shown_png(box.output) != png0  # the picture changed with the class
    first_page = box.shown.clone()
    assert (data.labels[first_page] == 4).all() and len(first_page) == 16
    n4 = int((data.labels == 4).sum())
    assert box.page.max == (n4 - 1) // 16
    box.page.value = 1
    assert (data.labels[box.shown] == 4).all()
    assert not set(box.shown.tolist()) & set(first_page.tolist())  # the next page shows other images
    assert len(box.output.outputs) == 1  # one figure shown, the old one replaced
