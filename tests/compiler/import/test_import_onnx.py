#!/usr/bin/env python3
"""Tests of `tpusim import-onnx` (scripts/import_onnx.py and import_onnx).

Builds small ONNX models with onnx.helper, converts them, and checks the layers (kinds, shapes,
fused activations) and the MAC counts against hand derivations:
  Gemm/MatMul M x K x N: M*K*N MACs; conv: out_h*out_w*C_in*kh*kw*C_out per image (in-bounds
  products only where there is padding, as Layer::macs counts them).
When $IMPORT_ONNX_CHECK names the C++ driver (tests/compiler/import/import_onnx_check.cpp), every
model also goes through import_onnx: same YAML, parse_workload accepts it, it lowers for
small-16, and its analytic MAC count equals the hand derivation. Exit 77 (skip) when onnx cannot
be imported.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print(f"SKIP: {e} (install with scripts/venv.sh)")
    sys.exit(77)
try:
    import yaml
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, "scripts", "import_onnx.py")
CHECK = os.environ.get("IMPORT_ONNX_CHECK", "")
FAILS = []


def expect(cond, what):
    if not cond:
        FAILS.append(what)
        print(f"FAIL: {what}")


def init(name, *dims):
    rng = np.random.default_rng(len(name))
    return numpy_helper.from_array(rng.standard_normal(dims).astype(np.float32), name)


def save(tmp, name, nodes, inp, out, inits):
    graph = helper.make_graph(nodes, name, [inp], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    path = os.path.join(tmp, name + ".onnx")
    onnx.save(model, path)
    return path


def vi(name, *dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))


def run_script(path, *args):
    return subprocess.run([sys.executable, SCRIPT, path, *args], capture_output=True, text=True)


def run_check(path, batch=None):
    env = dict(os.environ, TPUSIM_VENV=sys.prefix)
    cmd = [CHECK, path] + ([str(batch)] if batch else [])
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def convert(path, batch=None, hand_macs=None):
    """Converts with the script (and the C++ side); returns the parsed workload dict."""
    r = run_script(path, *(["--batch", str(batch)] if batch else []))
    expect(r.returncode == 0, f"{path}: exit {r.returncode}: {r.stderr}")
    if r.returncode != 0:
        return None
    w = yaml.safe_load(r.stdout)
    if CHECK:
        c = run_check(path, batch)
        expect(c.returncode == 0, f"{path}: import_onnx exit {c.returncode}: {c.stderr}")
        if c.returncode == 0:
            body, _, last = c.stdout.rstrip("\n").rpartition("\n")
            expect(body + "\n" == r.stdout, f"{path}: import_onnx output differs from the script's")
            expect(last.startswith("#macs "), f"{path}: no #macs line")
            if hand_macs is not None:
                got = int(last.split()[1])
                expect(got == hand_macs, f"{path}: parse_workload macs {got} != hand derivation {hand_macs}")
    return w


def layer_macs(w):
    """MACs from the layer fields (no padding in the convs this is used for)."""
    total = 0
    for layer in w["layers"]:
        if layer["type"] == "fc":
            total += w["batch"] * rows[layer["name"]] * layer["in"] * layer["out"]
        elif layer["type"] == "conv2d":
            s, p = layer["stride"], layer["pad"]
            oh = (layer["in_h"] + 2 * p - layer["kernel_h"]) // s + 1
            ow = (layer["in_w"] + 2 * p - layer["kernel_w"]) // s + 1
            total += w["batch"] * oh * ow * layer["in_c"] * layer["kernel_h"] * layer["kernel_w"] * layer["out_c"]
    return total


rows = {}


def track_rows(w):
    """Rows per item of every layer (the workload's row layout)."""
    rows.clear()
    rows["@in"] = w["input"].get("rows_per_item", 1)
    prev = "@in"
    for layer in w["layers"]:
        src = layer.get("input") or (layer.get("inputs") or [prev])[0]
        t = layer["type"]
        if t == "conv2d":
            s, p = layer["stride"], layer["pad"]
            r = ((layer["in_h"] + 2 * p - layer["kernel_h"]) // s + 1) * \
                ((layer["in_w"] + 2 * p - layer["kernel_w"]) // s + 1)
        elif t == "pool":
            r = rows[src] // layer["window"]
        elif t == "host_op":
            r = layer.get("out_rows_per_item", rows[src])
        else:
            r = rows[src]
        rows[layer["name"]] = r
        prev = layer["name"]


def by_name(w):
    return {layer["name"]: layer for layer in w["layers"]}


def test_mlp(tmp):
    M, K, H, N = 6, 10, 12, 5
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["g1"], name="fc1"),
             helper.make_node("Relu", ["g1"], ["r1"], name="relu1"),
             helper.make_node("Gemm", ["r1", "w2"], ["g2"], name="fc2", transB=1),
             helper.make_node("Sigmoid", ["g2"], ["y"], name="sig")]
    path = save(tmp, "mlp", nodes, vi("x", M, K), vi("y", M, N),
                [init("w1", K, H), init("b1", H), init("w2", N, H)])
    hand = M * K * H + M * H * N
    w = convert(path, hand_macs=hand)
    if not w:
        return
    L = w["layers"]
    expect(w["batch"] == M, f"mlp batch {w['batch']}")
    expect(w["input"] == {"features": K, "rows_per_item": 1}, f"mlp input {w['input']}")
    expect([x["type"] for x in L] == ["fc", "fc"], f"mlp kinds {[x['type'] for x in L]}")
    expect((L[0]["in"], L[0]["out"], L[0]["act"]) == (K, H, "relu"), f"mlp fc1 {L[0]}")
    expect((L[1]["in"], L[1]["out"], L[1]["act"]) == (H, N, "sigmoid"), f"mlp fc2 (transB) {L[1]}")
    track_rows(w)
    expect(layer_macs(w) == hand, f"mlp macs {layer_macs(w)} != {hand}")
    # --batch overrides the model's batch; MACs scale with it.
    w32 = convert(path, batch=32, hand_macs=32 * K * H + 32 * H * N)
    expect(w32 and w32["batch"] == 32, "mlp --batch 32")


def test_cnn(tmp):
    B, C, HW = 2, 3, 8
    nodes = [helper.make_node("Conv", ["x", "k1", "kb1"], ["c1"], name="conv1", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "k2"], ["c2"], name="conv2", kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
             helper.make_node("Flatten", ["gap"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "wf"], ["y"], name="fc", transB=1)]
    path = save(tmp, "cnn", nodes, vi("x", B, C, HW, HW), vi("y", B, 10),
                [init("k1", 8, C, 3, 3), init("kb1", 8), init("k2", 4, 8, 3, 3), init("wf", 10, 4)])
    # conv1 (pad 1): in-bounds kernel taps over 8x8 = (7 + 8 + 7)^2 = 484 per channel pair.
    conv1 = B * 484 * C * 8
    conv2 = B * 2 * 2 * 8 * 3 * 3 * 4  # out_h*out_w*C_in*kh*kw*C_out per image, no padding
    fc = B * 4 * 10
    w = convert(path, hand_macs=conv1 + conv2 + fc)
    if not w:
        return
    L = by_name(w)
    kinds = [x["type"] for x in w["layers"]]
    expect(kinds == ["conv2d", "pool", "conv2d", "pool", "fc"], f"cnn kinds {kinds}")
    expect(w["input"] == {"features": C, "rows_per_item": HW * HW}, f"cnn input {w['input']}")
    c1 = L.get("conv1", {})
    expect({k: c1.get(k) for k in ("in_h", "in_w", "in_c", "out_c", "kernel_h", "kernel_w", "stride", "pad", "act")}
           == {"in_h": 8, "in_w": 8, "in_c": 3, "out_c": 8, "kernel_h": 3, "kernel_w": 3, "stride": 1, "pad": 1,
               "act": "relu"}, f"cnn conv1 {c1}")
    p1 = L.get("pool1", {})
    expect((p1.get("window"), p1.get("kind")) == (4, "max"), f"cnn pool1 {p1}")
    c2 = L.get("conv2", {})
    expect((c2.get("in_h"), c2.get("in_w"), c2.get("in_c"), c2.get("out_c"), c2.get("pad"), c2.get("act"))
           == (4, 4, 8, 4, 0, "relu"), f"cnn conv2 {c2}")
    gap = L.get("gap", {})
    expect((gap.get("type"), gap.get("window"), gap.get("kind")) == ("pool", 4, "avg"), f"cnn gap {gap}")
    f = L.get("fc", {})
    expect((f.get("in"), f.get("out"), f.get("input")) == (4, 10, "gap"), f"cnn fc after flatten {f}")
    # conv2 and fc by the unpadded formula from the fields.
    track_rows(w)
    no_pad = dict(w, layers=[x for x in w["layers"] if x["name"] != "conv1"])
    expect(layer_macs(no_pad) == conv2 + fc, f"cnn conv2+fc macs {layer_macs(no_pad)} != {conv2 + fc}")


def test_matmul_chain(tmp):
    B, S, K, H, N = 4, 7, 9, 16, 3
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["m1"], name="mm1"),
             helper.make_node("Add", ["m1", "bias1"], ["a1"], name="bias1"),
             helper.make_node("Relu", ["a1"], ["r1"], name="relu1"),
             helper.make_node("MatMul", ["r1", "w2"], ["m2"], name="mm2"),
             helper.make_node("Add", ["r1", "m2"], ["s"], name="residual"),
             helper.make_node("Tanh", ["s"], ["t"], name="tanh"),
             helper.make_node("MatMul", ["t", "w3"], ["y"], name="mm3")]
    path = save(tmp, "chain", nodes, vi("x", B, S, K), vi("y", B, S, N),
                [init("w1", K, H), init("bias1", H), init("w2", H, H), init("w3", H, N)])
    hand = B * S * (K * H + H * H + H * N)
    w = convert(path, hand_macs=hand)
    if not w:
        return
    L = by_name(w)
    kinds = [x["type"] for x in w["layers"]]
    expect(kinds == ["fc", "fc", "vector", "fc"], f"chain kinds {kinds}")
    expect(w["input"] == {"features": K, "rows_per_item": S}, f"chain input {w['input']}")
    expect(L.get("mm1", {}).get("act") == "relu", f"chain mm1 act through the folded bias {L.get('mm1')}")
    res = L.get("residual", {})
    expect((res.get("op"), res.get("inputs"), res.get("act")) == ("add", ["mm1", "mm2"], "tanh"),
           f"chain residual {res}")
    expect((L.get("mm3", {}).get("in"), L.get("mm3", {}).get("out")) == (H, N), f"chain mm3 {L.get('mm3')}")
    track_rows(w)
    expect(layer_macs(w) == hand, f"chain macs {layer_macs(w)} != {hand}")


def test_unfused_activation(tmp):
    # The Gemm output has two readers, so the Relu cannot be fused: a vector copy with act relu.
    nodes = [helper.make_node("Gemm", ["x", "w1"], ["g"], name="fc1"),
             helper.make_node("Relu", ["g"], ["r"], name="relu"),
             helper.make_node("Add", ["g", "r"], ["y"], name="sum")]
    path = save(tmp, "unfused", nodes, vi("x", 3, 8), vi("y", 3, 6), [init("w1", 8, 6)])
    w = convert(path, hand_macs=3 * 8 * 6)
    if not w:
        return
    L = by_name(w)
    expect(L.get("fc1", {}).get("act") == "none", f"unfused fc1 {L.get('fc1')}")
    expect((L.get("relu", {}).get("type"), L.get("relu", {}).get("act")) == ("vector", "relu"),
           f"unfused relu {L.get('relu')}")


def test_unsupported(tmp):
    nodes = [helper.make_node("Gemm", ["x", "w1"], ["g"], name="fc1"),
             helper.make_node("Softmax", ["g"], ["y"], name="my_softmax", axis=1)]
    path = save(tmp, "unsupported", nodes, vi("x", 2, 4), vi("y", 2, 3), [init("w1", 4, 3)])
    r = run_script(path)
    expect(r.returncode == 2, f"unsupported: exit {r.returncode} (expected 2)")
    for part in ("my_softmax", "Softmax", path):
        expect(part in r.stderr, f"unsupported: '{part}' not in the message: {r.stderr!r}")
    expect(r.stdout == "", "unsupported: no YAML on stdout")
    if CHECK:
        c = run_check(path)
        expect(c.returncode == 2 and "my_softmax" in c.stderr and "Softmax" in c.stderr,
               f"unsupported via import_onnx: exit {c.returncode}: {c.stderr!r}")
    # A file that is not an ONNX model, and one that does not exist.
    bad = os.path.join(tmp, "bad.onnx")
    with open(bad, "wb") as f:
        f.write(b"\x00not a model\xff" * 3)
    r = run_script(bad)
    expect(r.returncode == 2 and bad in r.stderr, f"bad model: exit {r.returncode}: {r.stderr!r}")
    r = run_script(os.path.join(tmp, "missing.onnx"))
    expect(r.returncode == 2 and "cannot open" in r.stderr, f"missing model: exit {r.returncode}: {r.stderr!r}")
    if CHECK:
        c = run_check(os.path.join(tmp, "missing.onnx"))
        expect(c.returncode == 2 and "cannot open" in c.stderr, f"missing via import_onnx: {c.stderr!r}")
        env = dict(os.environ, TPUSIM_VENV=os.path.join(tmp, "no-venv"))
        c = subprocess.run([CHECK, path], capture_output=True, text=True, env=env)
        expect(c.returncode == 2 and "scripts/venv.sh" in c.stderr, f"no venv: exit {c.returncode}: {c.stderr!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for t in (test_mlp, test_cnn, test_matmul_chain, test_unfused_activation, test_unsupported):
            print(f"-- {t.__name__}")
            t(tmp)
    if not CHECK:
        print("note: IMPORT_ONNX_CHECK not set; the C++ side (import_onnx) was not exercised")
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
