"""Lesson 04's side-by-side metrics table."""

import pytest

from genedu.eval_plots import METRIC_COLUMNS, metrics_table


def test_one_row_per_set_with_each_value_in_its_column():
    reports = {"real": {"fid": 0.5, "kid": 0.00012, "recall": 0.71},
               "one class": {"fid": 120.25, "kid": 0.3, "recall": 0.05}}
    lines = metrics_table(reports, columns=["fid", "kid", "recall"]).splitlines()
    assert len(lines) == 4  # header, rule, two sets
    assert lines[0].split() == ["set", "fid", "kid", "recall"]
    assert set(lines[1]) == {"-"} and len(lines[1]) == len(lines[0])
    assert lines[2].split() == ["real", "0.500", "0.0001", "0.710"]  # kid gets 4 decimals
    assert lines[3].startswith("one class") and lines[3].split()[2:] == ["120.250", "0.3000", "0.050"]
    assert len({len(line) for line in lines}) == 1  # columns line up


def test_default_columns_are_the_report_metrics_with_short_headers():
    assert "n" not in METRIC_COLUMNS and {"fid", "inception_score", "nn_ratio"} <= set(METRIC_COLUMNS)
    header = metrics_table({"s": dict.fromkeys(METRIC_COLUMNS, 1.0)}).splitlines()[0].split()
    assert header[0] == "set" and len(header) == len(METRIC_COLUMNS) + 1
    assert "IS" in header and "near_copy" in header and "inception_score" not in header


def test_a_missing_metric_is_named_with_the_set():
    with pytest.raises(KeyError, match=r"'noise'.*\['kid'\]"):
        metrics_table({"real": {"fid": 1.0, "kid": 0.0}, "noise": {"fid": 2.0}}, columns=["fid", "kid"])
    with pytest.raises(ValueError, match="at least one set"):
        metrics_table({})
