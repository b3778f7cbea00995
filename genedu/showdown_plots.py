"""The showdown lesson's tables and printed records (lesson 05), each built from a results dict or a JSON
record, so the lesson reads one call where it would otherwise spell out a table or a paragraph of prints.

- `recipe_trials`, `ddpm_sampler_lines`, `flow_sampler_lines`, `showdown_record_lines`: the repository's
  records (benchmarks/results/*.json) as short printed lines, provenance included;
- `verdict_lines`, `strengths_markdown`: the showdown's computed verdicts, as text;
- `references_table`, `references_beside_yours`, `reference_findings`: the shipped reference models
  (genedu/assets/references/*.json) as markdown, and the findings written from their recorded figures.

Nothing here asserts what a lesson teaches: the lesson asserts it, on the same figures.
"""

from __future__ import annotations

import math
REF_COLUMNS = ["fid", "inception_score", "precision", "recall", "class_kl", "conditional_accuracy",
               "seconds_per_1000"]


def _need(record: dict, keys: list[str], what: str) -> None:
    """A clear error before any formatting when a record lacks a field a table needs."""
    missing = [k for k in keys if k not in record]
    if missing:
        raise ValueError(f"{what} lacks {missing} (it has {sorted(record)}): pass the JSON record the "
                         "repository's benchmark wrote, unchanged")


def recipe_trials(record: dict, *, prefix: str = "diffusion/laptop", images: int = 275_072) -> list[dict]:
    """The recorded trials (benchmarks/results/recipe_trials.json) of one preset at one budget, worst FID first.

    Each row: `num_classes` (10 = class-conditional, 0 = no label input), `batch_size`, `fid` and a printable
    `line` with its config, seed, sample count and machine.
    """
    _need(record, ["trials"], "the recipe trials record")
    rows = []
    for label, t in record["trials"].items():
        if label.startswith(prefix) and t["images"] == images:
            config, batch = t.get("config", {}), t["recipe"].get("batch_size", 128)
            rows.append({"num_classes": config.get("num_classes", 10), "batch_size": batch, "fid": t["fid"],
                         "line": f"FID {t['fid']:5.1f}  {label}: config {config}, batch {batch}, seed {t['seed']}, "
                                 f"{t['n']:,} samples, {t['machine']}"})
    if not rows:
        raise ValueError(f"no trial of {prefix!r} at {images:,} images in the record: rerun "
                         "benchmarks/recipe_trials.py at the showdown's budget, or pass the budget it used")
    return sorted(rows, key=lambda r: -r["fid"])


def ddpm_sampler_lines(record: dict) -> list[str]:
    """benchmarks/results/ddpm_samplers.json as lines: its provenance, then each sampler's FID over seeds."""
    _need(record, ["seeds", "n_per_seed", "parts", "ancestral_fid_mean", "table"], "the DDPM samplers record")
    lines = [f"seeds {record['seeds']}, {record['n_per_seed']:,} samples each, {record['parts'][0]['machine']}; "
             f"1,000 ancestral steps: FID {record['ancestral_fid_mean']:.1f}"]
    lines += [f"  {r['sampler']:22s} FID {r['fid_mean']:5.1f} +/- {r['fid_std']:.1f} ({r['network_calls']} calls, "
              f"{r['over_ancestral']:.2f}x the ancestral FID)" for r in record["table"]]
    return lines


def flow_sampler_lines(record: dict) -> list[str]:
    """benchmarks/results/flow_samplers.json as lines: the DDPM at 50 steps, then each flow solver over seeds."""
    _need(record, ["seeds", "n_per_seed", "parts", "ddpm_50_fid_mean", "ddpm_50_fid_std", "table"],
          "the flow samplers record")
    lines = [f"DDPM, 50 steps {record['parts'][0]['ddpm_50_steps']['sample_options']}: FID "
             f"{record['ddpm_50_fid_mean']:.1f} +/- {record['ddpm_50_fid_std']:.1f} "
             f"({record['n_per_seed']:,} samples per seed, seeds {record['seeds']})"]
    lines += [f"flow, {r['sampler']:11s} ({r['network_calls']:2d} calls): FID {r['fid_mean']:.1f} "
              f"+/- {r['fid_std']:.1f}, class KL {r['class_kl_mean']:.3f}" for r in record["table"]]
    return lines


def showdown_record_lines(record: dict) -> list[str]:
    """benchmarks/results/showdown.json's provenance (machine, budget, seeds, samples, command) and its
    targets, each marked met or missed."""
    _need(record, ["machine", "settings", "command", "targets"], "the showdown record")
    s = record["settings"]
    lines = [f"{record['machine']['description']}; {s['images']:,} images per model; seeds {s['seeds']}; "
             f"{s['n_samples']:,} samples scored; {record['command']}"]
    lines += [f"{'met    ' if t['met'] else 'missed '} {name}: " + ", ".join(f"{k} {v}" for k, v in t.items() if k != "met")
              for name, t in record["targets"].items()]
    return lines


def verdict_lines(verdicts: list[dict]) -> list[str]:
    """For each criterion, the best and the worst contender with their figures (genedu.showdown.verdicts)."""
    lines = []
    for v in verdicts:
        worst = f"worst: {v['worst']} ({v['worst_value']:.4g})" if v["worst"] else "the only one that has it"
        lines.append(f"{v['criterion']:16s} best: {v['best']} ({v['best_value']:.4g} {v['unit']}); {worst}")
    return lines


def strengths_markdown(table: dict[str, dict[str, list[str]]]) -> str:
    """genedu.showdown.strengths_and_limitations as a markdown table, one row per contender."""
    return "| model | strengths | limitations |\n|---|---|---|\n" + "".join(
        f"| {k} | {'; '.join(v['strengths']) or '-'} | {'; '.join(v['limitations']) or '-'} |\n"
        for k, v in table.items())


def _ref_row(family: str, i: dict) -> str:
    _need(i, ["preset", "trained", "machine", "sample_options", "evaluation"], f"the {family} reference's record")
    e = i["evaluation"]
    cells = [family, i["preset"], f"{i['trained']['images']:,}", f"{i['trained']['seconds']:.0f}",
             i["machine"].split(";")[0], str(i["sample_options"] or "one pass"), f"{e['n']:,}"]
    cells += [f"{e[c]:.4g}" if c in e else "n/a" for c in REF_COLUMNS]
    cells.append(f"{i['likelihood']['iwae_nll_nats']:.1f}" if "likelihood" in i else "n/a")
    return "| " + " | ".join(cells) + " |\n"


def references_table(ref_info: dict[str, dict]) -> str:
    """The shipped references' recorded figures (genedu.reference.reference_info per family) as markdown:
    how each was trained (preset, images, seconds, machine), its sampler and its evaluation."""
    head = ("| reference | preset | images seen | training s | machine | sampler | samples | "
            + " | ".join(REF_COLUMNS) + " | NLL (nats) |\n|---|" + "---|" * (7 + len(REF_COLUMNS)) + "\n")
    return head + "".join(_ref_row(f, i) for f, i in ref_info.items())


def references_beside_yours(summary: dict[str, dict], ref_info: dict[str, dict], ref_rows: dict[str, dict], *,
                            n_samples: int, n_ref: int) -> str:
    """Each reference re-measured here (`ref_rows`: genedu.showdown.sample_and_score per family) beside your
    run of its family's proper preset (`<family>/laptop`) and seed preset, as a markdown table."""
    missing = [f"{f}/laptop" for f in ref_rows if f"{f}/laptop" not in summary]
    if missing:
        raise ValueError(f"the showdown's summary has no {missing}: run the showdown with S.CONTENDERS "
                         f"(it has {sorted(summary)})")
    out = ("| family | your run: proper preset | your FID | seed preset FID | your images seen | reference FID, "
           "recorded | reference FID, here | reference s per 1,000 here |\n|---|---|---|---|---|---|---|---|\n")
    for family, rep in ref_rows.items():
        mine, seed, e = summary[f"{family}/laptop"], summary.get(f"{family}/seed"), ref_info[family]["evaluation"]
        seed_fid = f"{seed['fid']['mean']:.1f}" if seed else "none (no seed model)"
        out += (f"| {family} | {mine['label']} | {mine['fid']['mean']:.1f} ({n_samples:,} samples) | {seed_fid} | "
                f"{mine['images_seen']['mean']:,.0f} | {e['fid']:.2f} ({e['n']:,}) | {rep['fid']:.2f} ({n_ref:,}) | "
                f"{rep['seconds_per_1000']:.2f} |\n")
    return out


def reference_findings(ref_info: dict[str, dict], unconditional: dict[str, dict] | None = None) -> str:
    """What the four shipped references' recorded figures say, as markdown bullets, each written from the
    figures it quotes: quality like with like (all drawn without a label), why the conditional networks fall
    without one, coverage, fidelity, class balance, sampling cost, likelihood and control.

    `unconditional` (optional): the records of the diffusion and flow networks trained without labels
    ({"diffusion": reference_info("diffusion_uncond"), "flow": reference_info("flow_uncond")}); with them,
    the findings rank all four families unconditionally at reference quality."""
    if set(ref_info) != {"vae", "gan", "diffusion", "flow"}:
        raise ValueError(f"the findings need the four references vae, gan, diffusion and flow; got {sorted(ref_info)}")
    for f, i in ref_info.items():
        _need(i, ["evaluation", "unconditional"], f"the {f} reference's record")
    _need(ref_info["vae"], ["likelihood", "priors"], "the vae reference's record")
    _need(ref_info["diffusion"], ["variational_bound", "variational_bound_binarised"], "the diffusion reference's record")
    ev = {f: i["evaluation"] for f, i in ref_info.items()}  # each with the sampler it was made for
    unc = {f: i["unconditional"] for f, i in ref_info.items()}  # each without a label: like with like
    nll, priors = ref_info["vae"]["likelihood"], ref_info["vae"]["priors"]
    bound, binary = ref_info["diffusion"]["variational_bound"], ref_info["diffusion"]["variational_bound_binarised"]
    p_uncond = ref_info["diffusion"]["config"]["p_uncond"]

    def listed(key: str, fmt: str) -> str:  # best first: lowest for FID and class KL, highest otherwise
        order = sorted(unc, key=lambda f: unc[f][key] if key in ("fid", "class_kl") else -unc[f][key])
        return ", ".join(f"{f} {unc[f][key]:{fmt}}" for f in order)

    precise = max(unc, key=lambda f: unc[f]["precision"])
    blur = (f" The {precise}'s precision flatters it: a sharpness of {unc[precise]['sharpness']:.2f} is blur, which "
            "precision does not see (lesson 04)." if unc[precise]["sharpness"] < 0.8 else "")
    d, fl = ev["diffusion"], ev["flow"]
    return "\n".join([
        f"- **Quality, like with like** (every reference without a label, {unc['vae']['n']:,} samples each, its own "
        f"sampler), FID from best to worst: {listed('fid', '.2f')}. With balanced requested labels the diffusion and "
        f"flow references score {d['fid']:.2f} and {fl['fid']:.2f}: the label helps, so those figures do not rank "
        "them against the unconditional VAE and GAN.",
        f"- **Why diffusion and flow fall without a label:** they are class-conditional networks that learned their "
        f"unconditional model only from the {p_uncond:.0%} of batches whose label was dropped (`p_uncond`)."
        + (_trained_without_labels(ev, unconditional) if unconditional else
           " This ranks these four networks as unconditional samplers, not the families at their best."),
        f"- **Coverage** (recall, highest first): {listed('recall', '.3f')}.",
        f"- **Fidelity takes two numbers.** Precision, in the classifier's features: {listed('precision', '.3f')}; "
        "sharpness, in pixels (real digits score 1): " + ", ".join(f"{f} {unc[f]['sharpness']:.2f}" for f in unc)
        + "." + blur,
        f"- **Class balance** (class KL to the test set's shares, lowest first): {listed('class_kl', '.4f')}. The "
        f"VAE's learned prior matters here and for quality: codes from the normal prior instead score FID "
        f"{priors['normal']['fid']:.1f}.",
        f"- **Sampling cost:** the VAE and the GAN draw an image in one network pass; the diffusion and flow "
        f"references in {d['network_calls']} and {fl['network_calls']} ({ref_info['diffusion']['sample_options']}, "
        f"{ref_info['flow']['sample_options']}); the seconds per 1,000 measured here are in the table above.",
        f"- **Likelihood:** the VAE's importance-weighted bound is {nll['iwae_nll_nats']:.1f} nats "
        f"({nll['iwae_nll_nats'] / (784 * math.log(2)):.3f} bits per pixel) on binarised digits; the DDPM's "
        f"variational bound is {bound['bits_per_dim_8bit']:.2f} bits per pixel on 8-bit greys. On the same binarised "
        f"digits the DDPM scores {binary['bits_per_dim']:.2f} bits per pixel against the VAE's "
        f"{binary['vae_bits_per_dim_same_images']:.3f}: it spreads probability over 256 grey levels where binary "
        "digits use 2. A likelihood ranks models of the same data only. A flow has an exact likelihood (the "
        "divergence integrated along its ODE), which genedu does not compute; a GAN defines no density.",
        f"- **Control:** the diffusion and flow references follow a requested digit {d['conditional_accuracy']:.0%} "
        f"and {fl['conditional_accuracy']:.0%} of the time (the classifier's reading); the VAE and GAN references "
        "are unconditional.",
    ])


def _trained_without_labels(ev: dict[str, dict], unconditional: dict[str, dict]) -> str:
    """The findings' sentence on the networks trained without labels, and the four families ranked at their best."""
    if set(unconditional) != {"diffusion", "flow"}:
        raise ValueError(f"unconditional takes the records of 'diffusion' and 'flow' trained without labels, "
                         f"got {sorted(unconditional)}")
    for f, i in unconditional.items():
        _need(i, ["evaluation", "sample_options"], f"the unconditional {f} reference's record")
        if i["config"].get("num_classes", 0) != 0:
            raise ValueError(f"the unconditional {f} record is of a class-conditional network (num_classes > 0)")
    best = {"vae": ev["vae"]["fid"], "gan": ev["gan"]["fid"],
            **{f: i["evaluation"]["fid"] for f, i in unconditional.items()}}
    ranked = ", ".join(f"{f} {v:.2f}" for f, v in sorted(best.items(), key=lambda kv: kv[1]))
    return (" The same networks and recipes trained **without labels** (`diffusion_uncond`, `flow_uncond`) score "
            f"FID {unconditional['diffusion']['evaluation']['fid']:.2f} and {unconditional['flow']['evaluation']['fid']:.2f} "
            f"({unconditional['diffusion']['sample_options']}, {unconditional['flow']['sample_options']}). All four "
            f"families unconditional, each at its best, from best to worst: {ranked}.")


def reference_record_lines(ref_info: dict[str, dict]) -> list[str]:
    """Where each reference's figures come from: seed, budget and command; the settings of the likelihoods;
    and, for the draws without a label, the command and machine that made them."""
    lines = [f"{f:9s} seed {i['seed']}, budget {i['budget']}, command: {i['command']}" for f, i in ref_info.items()]
    lines += [f"{f:9s} {key}: {i[key]['setting']}" for f, i in ref_info.items()
              for key in ("likelihood", "variational_bound", "variational_bound_binarised") if key in i]
    lines += [f"{f:9s} without a label: {i['unconditional']['labels']}; {i['unconditional']['command']} "
              f"({i['unconditional']['machine']})" for f, i in ref_info.items() if "unconditional" in i]
    return lines


__all__ = ["recipe_trials", "ddpm_sampler_lines", "flow_sampler_lines", "showdown_record_lines",
           "verdict_lines", "strengths_markdown", "references_table", "references_beside_yours",
           "reference_findings", "reference_record_lines"]
