#!/usr/bin/python3
"""serve_compare_fastapi.py: the baseline of the serving comparison: what a
user would otherwise deploy, FastAPI + uvicorn + PyTorch serving the same
reference model. POST /predict takes the same raw 784-byte body
(application/octet-stream, MNIST convention) and answers the same JSON
fields (prediction, confidence, probabilities, model, elapsed_ms).

usage: serve_compare_fastapi.py [WORKERS]   (default 2)
Binds 127.0.0.1 on a free port, printed as "port N" on stdout, then serves
with WORKERS uvicorn worker processes (one PyTorch thread each) until
SIGTERM/SIGINT.
"""
import os
import socket
import sys
import time

import torch
import torch.nn as nn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

torch.set_num_threads(1)
app = FastAPI()


def build_model():
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    torch.manual_seed(1)
    return m.eval()


MODEL = build_model()


@app.post("/predict")
async def predict(request: Request):
    t0 = time.perf_counter()
    body = await request.body()
    if len(body) != 784:
        return JSONResponse(status_code=400, content={"error": {
            "status": 400, "code": "invalid_pixels",
            "message": "expected 784 bytes, got %d" % len(body)}})
    x = torch.frombuffer(bytearray(body), dtype=torch.uint8).float().div_(255.0)
    with torch.inference_mode():
        p = torch.softmax(MODEL(x.view(1, 1, 28, 28)), 1)[0]
    probs = [round(float(v), 4) for v in p]
    k = int(p.argmax())
    return {"prediction": k, "confidence": probs[k], "probabilities": probs,
            "model": {"name": "mnist-cnn", "version": "pytorch"},
            "elapsed_ms": round(1e3 * (time.perf_counter() - t0), 3)}


def main():
    import uvicorn
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    print("port %d" % sock.getsockname()[1], flush=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run("serve_compare_fastapi:app", fd=sock.fileno(), workers=workers,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
