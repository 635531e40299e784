# PyTorch peer of bench/resnet20.ts: ResNet-20 option A (He et al. 2016), one training step
# (forward + backward + SGD momentum) and inference, images/s as JSON lines on stdout.
import json, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

batch, steps, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin
    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad: s = F.pad(s, (0, 0, 0, 0, 0, self.pad))  # option A: zero channels
        return F.relu(y + s)

class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False); self.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                layers.append(Block(cin, cout, stride if i == 0 else 1)); cin = cout
        self.layers = nn.Sequential(*layers); self.fc = nn.Linear(64, 10)
    def forward(self, x):
        x = self.layers(F.relu(self.bn(self.conv(x))))
        return self.fc(x.mean((2, 3)))

net = ResNet20()
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
x = torch.randn(batch, 3, 32, 32); y = torch.randint(0, 10, (batch,))
def step():
    opt.zero_grad(); loss = F.cross_entropy(net(x), y); loss.backward(); opt.step()
def median(xs): s = sorted(xs); return s[len(s) // 2]
def timed(fn, n):
    fn(); ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return median(ts)
net.train(); t = timed(step, steps)
print(json.dumps({"bench": "resnet20_train", "backend": "pytorch", "value": round(batch / t, 1), "unit": "images/s", "batch": batch, "torch": torch.__version__, "threads": threads}))
net.eval()
with torch.no_grad(): t = timed(lambda: net(x), steps)
print(json.dumps({"bench": "resnet20_infer", "backend": "pytorch", "value": round(batch / t, 1), "unit": "images/s", "batch": batch}))
import resource
print(json.dumps({"bench": "resnet20_peak_rss", "backend": "pytorch", "value": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "unit": "MB"}))
