"""Class histograms of the GAN runs of benchmarks/gan_runs.py through a quick MLP classifier (stand-in
until genedu.evaluate ships its classifier; 96 % test accuracy). Writes JSON to stdout."""
import torch, genedu, glob, json
from torch import nn
torch.manual_seed(0); torch.set_num_threads(2)
tr=genedu.load_mnist("train_full"); te=genedu.load_mnist("test")
clf=nn.Sequential(nn.Flatten(), nn.Linear(784,512), nn.ReLU(), nn.Linear(512,10))
opt=torch.optim.Adam(clf.parameters(),1e-3)
for ep in range(2):
    for x,y in tr.batches(128, seed=0, epoch=ep):
        loss=nn.functional.cross_entropy(clf(x),y); opt.zero_grad(); loss.backward(); opt.step()
clf.eval()
with torch.no_grad():
    acc=(clf(te.float()).argmax(1)==te.labels).float().mean().item()
res={"classifier":f"MLP 784-512-10, 2 epochs Adam 1e-3 on train_full, seed 0; test accuracy {acc:.4f} (NOT the evaluation suite's classifier)","runs":{}}
for p in sorted(glob.glob('runs/gan/*_s?.pt')):
    m=genedu.load_model(p); lab=torch.arange(1000)%10 if m.conditional else None
    with torch.no_grad():
        s=m.sample(1000, labels=lab, generator=torch.Generator().manual_seed(2024))
        pred=clf(s).argmax(1)
    r={"class_shares":[round(v,3) for v in (torch.bincount(pred,minlength=10).float()/1000).tolist()]}
    if lab is not None: r["accuracy_on_requested_class"]=round((pred==lab).float().mean().item(),3)
    ex=torch.load(p.replace('.pt','.snaps.pt'),weights_only=False)
    over=[]
    for sn in ex["snapshots"][::2]:
        m.G.load_state_dict(sn["G"]); m.eval()
        with torch.no_grad():
            pr=clf(m.sample(1000, labels=lab, generator=torch.Generator().manual_seed(7))).argmax(1)
        over.append((sn["step"], round((torch.bincount(pr,minlength=10).max().item())/1000,3)))
    r["top_class_share_over_steps"]=over
    res["runs"][p.split('/')[-1][:-3]]=r
print(json.dumps(res))
