"""GAN trial: python benchmarks/gan_trial.py PRESET DEVICE SECONDS THREADS [OUT] -> FID of 10,000 EMA and raw
samples against the test set, and the class shares; trains with fit(seconds=SECONDS, ema=0.999), seed 0.

The figures of the GAN presets in benchmarks/results/gpu_trials.json were measured with this script."""
import sys, time, math, torch
import genedu
from genedu.models.gan import GAN
from genedu.evaluate import classifier_outputs, real_features, fid, class_histogram

preset, device, seconds, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
if threads:
    torch.set_num_threads(threads)
torch.manual_seed(0)
model = GAN.from_preset(preset)
data = genedu.load_mnist("train")
t0 = time.time()
h = genedu.fit(model, data, seconds=seconds, device=device, ema=0.999, progress=False)
wall = time.time() - t0
n_img = h.last("images")
print(f"[{preset}/{device}] steps {len(h)} images {n_img:.0f} ({n_img/len(data):.1f} epochs) "
      f"{n_img/h.last('seconds'):.0f} img/s; last-100 means: " +
      ", ".join(f"{k} {h.mean(k, last=100):.3f}" for k in h.metric_keys), flush=True)
real_f = real_features("test")[0]
for name, m in (("ema", h.ema.module), ("raw", model)):
    m.eval()
    xs = torch.cat([m.sample(1000, generator=torch.Generator().manual_seed(i)).float().cpu() for i in range(10)])
    assert torch.isfinite(xs).all()
    f, logits = classifier_outputs(xs, device=device if device != "cpu" else None)
    shares = torch.bincount(logits.argmax(1), minlength=10).double() / len(xs)
    h1k = class_histogram(xs[:1000])
    print(f"[{preset}/{device}] {name}: FID(10k) {fid(real_f, f):.2f}; shares(10k) " +
          " ".join(f"{s:.3f}" for s in shares.tolist()) + f"; min {shares.min():.3f} max {shares.max():.3f}; "
          "1k hist " + " ".join(f"{s:.3f}" for s in h1k.tolist()), flush=True)
    if name == "ema":
        torch.save(xs[:64], f"{sys.argv[5]}/{preset}_{device}_samples.pt") if len(sys.argv) > 5 else None
