#!/usr/bin/python3
"""torch_ref.py: the PyTorch baseline the benchmarks compare with: the same
reference model (conv 32@3x3, relu, pool 2, conv 64@3x3, relu, pool 2,
dense 128, relu, dense 10), the same recipe (batch 128, Adam lr 1e-3,
eps 1e-7, Glorot-uniform weights) and the same thread count. Prints
"key value" lines like the C benchmarks.

usage: torch_ref.py train --data DIR --threads N [--images N]
       torch_ref.py infer --threads N [--iters N]
Run it with the allocator tuned (train_bench.sh does): PyTorch allocates
fresh activations every step, and page faults are expensive on a VM.
"""
import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def load_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(data, name)
        if os.path.exists(p):
            return p
    sys.exit("torch_ref.py: %s not found in %s" % (stem, data))


def model():
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    for layer in m:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return m


def train(a):
    x = load_idx(find(a.data, "train-images-idx3-ubyte"))
    y = load_idx(find(a.data, "train-labels-idx1-ubyte"))
    n = min(a.images, len(x)) // 128 * 128
    xs = torch.from_numpy(x[:n].astype(np.float32) / 255.0).reshape(n, 1, 28, 28)
    ys = torch.from_numpy(y[:n].astype(np.int64))
    m = model()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    # One warm-up step outside the clock, as the C benchmark allocates first.
    opt.zero_grad()
    lossf(m(xs[:128]), ys[:128]).backward()
    t0 = time.perf_counter()
    for i in range(0, n, 128):
        opt.zero_grad(set_to_none=False)
        loss = lossf(m(xs[i:i + 128]), ys[i:i + 128])
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    print("images %d" % n)
    print("images_per_s %.1f" % (n / secs))
    print("s_per_epoch %.3f" % (60000 * secs / n))


def infer(a):
    m = model().eval()
    rng = np.random.default_rng(1)
    one = torch.from_numpy(rng.random((1, 1, 28, 28), dtype=np.float32))
    big = torch.from_numpy(rng.random((256, 1, 28, 28), dtype=np.float32))
    with torch.inference_mode():
        for _ in range(50):
            torch.softmax(m(one), 1)
        # three rounds, the lowest median kept, as infer_bench.c does
        best = None
        for _ in range(3):
            lat = []
            for _ in range(a.iters):
                t0 = time.perf_counter()
                torch.softmax(m(one), 1)
                lat.append(time.perf_counter() - t0)
            med = statistics.median(lat)
            best = med if best is None else min(best, med)
        for _ in range(3):
            torch.softmax(m(big), 1)
        reps, t0 = 0, time.perf_counter()
        while reps < 10 or time.perf_counter() - t0 < 1.0:
            torch.softmax(m(big), 1)
            reps += 1
        secs = time.perf_counter() - t0
    print("latency_us_median %.1f" % (1e6 * best))
    print("batch256_images_per_s %.1f" % (256 * reps / secs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("train", "infer"))
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--images", type=int, default=60000)
    p.add_argument("--iters", type=int, default=2000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print("torch %s" % torch.__version__)
    print("torch_threads %d" % torch.get_num_threads())
    print("openblas_coretype %s" % os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
    train(a) if a.mode == "train" else infer(a)


if __name__ == "__main__":
    main()
