# PyTorch eager ResNet-20 (He et al. 2016, CIFAR-10, option A shortcuts) training step at batch
# 128 on the GPU: the peer gpu-check.sh compares resgrad with. Prints one JSON line.
import json, os, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.pad = cout - cin; self.stride = stride
    def forward(self, x):
        y = F.relu(self.b1(self.c1(x))); y = self.b2(self.c2(y))
        s = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad: s = F.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(y + s)

class ResNet(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.c = nn.Conv2d(3, 16, 3, 1, 1, bias=False); self.b = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n): layers.append(Block(cin, cout, stride if i == 0 else 1)); cin = cout
        self.layers = nn.Sequential(*layers); self.fc = nn.Linear(64, 10)
    def forward(self, x):
        x = self.layers(F.relu(self.b(self.c(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

def main():
    if not torch.cuda.is_available():
        print(json.dumps({"what": "resnet20 train step", "backend": "pytorch-eager", "error": "torch.cuda.is_available() is False"})); return
    batch, steps = int(os.environ.get("RESGRAD_BENCH_BATCH", 128)), int(os.environ.get("RESGRAD_BENCH_STEPS", 20))
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda"); model = ResNet().to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, 32, 32, device=dev); y = torch.arange(batch, device=dev) % 10
    def step():
        opt.zero_grad(set_to_none=True); loss = F.cross_entropy(model(x), y); loss.backward(); opt.step(); return loss
    for _ in range(5): step()
    torch.cuda.synchronize(); times = []
    for _ in range(steps):
        a = time.perf_counter(); step().item(); times.append((time.perf_counter() - a) * 1000)
    med = sorted(times)[len(times) // 2]
    print(json.dumps({"what": "resnet20 train step", "backend": "pytorch-eager", "torch": torch.__version__, "device": torch.cuda.get_device_name(),
                      "batch": batch, "steps": steps, "medianMs": round(med, 2), "imagesPerSec": round(batch * 1000 / med), "tf32": torch.backends.cudnn.allow_tf32}))

if __name__ == "__main__":
    main()
