#!/usr/bin/env python3
"""ONNX model -> tpusim workload YAML (`tpusim import-onnx MODEL.onnx` runs this script).

    scripts/import_onnx.py MODEL.onnx [--batch N]      prints the workload YAML on stdout

Shapes come from onnx.shape_inference. Tensors map to the workload's row layout (sim/compiler/workload.h):
an item is one example, [N, F] is F features x 1 row, [N, S, F] is F features x S rows, and NCHW
[N, C, H, W] is C features x H*W rows (the TPU's convolution mapping). Node mapping:
  Gemm, MatMul (weights an initializer)   -> fc (k = weight rows, n = weight columns)
  Conv (group 1, dilation 1)              -> conv2d (in_h, in_w, in_c, kernel_h/w, stride, pad)
  MaxPool, AveragePool                    -> pool over the same row reduction (window = in/out
                                             rows per item, a power of two 2..16: the format's
                                             1-D window, as workloads/resnet50.yaml does)
  GlobalAveragePool                       -> avg pool (H*W a power of two <= 16) or a host_op
  Relu, Sigmoid, Tanh                     -> the producing layer's `act` when it has none and
                                             this node is its only consumer, else a vector copy
  Add, Mul (two activations, same shape)  -> vector add / mul
  Add, Mul with an initializer operand    -> folded (bias / scale in the requantization)
  Flatten, Reshape to [N, -1]             -> nothing when one row per item, else a host_op
                                             relayout (rows -> features)
  Identity, Dropout, BatchNormalization   -> nothing (BatchNorm folded into the requantization)
Any other node is an error naming the node, its op type and the file (exit 2). Exit 3 when the
onnx package is missing (create the venv with scripts/venv.sh).
"""
import argparse
import json
import os
import re
import sys


def fail(msg, code=2):
    print(f"import-onnx: {msg}", file=sys.stderr)
    sys.exit(code)


try:
    import onnx
    from onnx import shape_inference
except ImportError:  # pragma: no cover - depends on the environment
    fail("the Python package 'onnx' is not installed in this environment; run scripts/venv.sh", 3)

ACTS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
FOLDED = {"Identity", "Dropout", "BatchNormalization"}


class Tensor:
    """A tensor of the workload: `layer` produced it ("@in": the group input)."""

    def __init__(self, layer, features, rows, hw=None):
        self.layer, self.features, self.rows, self.hw = layer, features, rows, hw


class Importer:
    def __init__(self, path, batch):
        self.path = path
        self.batch_override = batch
        try:
            model = onnx.load(path)
        except Exception as e:  # onnx raises DecodeError, OSError, ...
            fail(f"{path}: cannot read the ONNX model: {e}")
        try:
            model = shape_inference.infer_shapes(model)
        except Exception as e:
            fail(f"{path}: shape inference failed: {e}")
        self.model = model
        g = model.graph
        self.inits = {t.name: list(t.dims) for t in g.initializer}
        self.shapes = {}
        for vi in list(g.input) + list(g.value_info) + list(g.output):
            tt = vi.type.tensor_type
            if tt.HasField("shape"):
                self.shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None
                                        for d in tt.shape.dim]
        self.consumers = {}
        for n in g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.graph_outputs = {o.name for o in g.output}
        self.tensors = {}   # ONNX tensor name -> Tensor
        self.layers = []    # dicts in emission order
        self.by_name = {}   # layer name -> layer dict
        self.names = set()
        self.assumptions = []
        self.batch = 1

    # ---- helpers -------------------------------------------------------------------------------
    def where(self, node):
        return f"{self.path}: node '{node.name or '(unnamed)'}' ({node.op_type})"

    def unsupported(self, node, why):
        fail(f"{self.where(node)}: {why}")

    def assume(self, text):
        if text not in self.assumptions:
            self.assumptions.append(text)

    def unique(self, base):
        name = re.sub(r"[^A-Za-z0-9_-]", "_", base or "layer").strip("_") or "layer"
        if not re.match(r"[A-Za-z_]", name):
            name = "l_" + name
        cand, k = name, 1
        while cand in self.names or cand == "in":
            k += 1
            cand = f"{name}_{k}"
        self.names.add(cand)
        return cand

    def shape(self, node, name):
        s = self.shapes.get(name)
        if s is None and name in self.inits:
            s = self.inits[name]
        if s is None or any(d is None for d in s[1:]):
            self.unsupported(node, f"tensor '{name}' has no inferred static shape {s}")
        return s

    def act_in(self, node, idx=0):
        name = node.input[idx]
        if name not in self.tensors:
            self.unsupported(node, f"input '{name}' is neither the model input nor a supported layer's output")
        return self.tensors[name]

    def emit(self, node, fields, features, rows, hw=None):
        name = self.unique(node.name or node.output[0])
        layer = {"type": fields.pop("type"), "name": name}
        layer.update(fields)
        self.layers.append(layer)
        self.by_name[name] = layer
        self.tensors[node.output[0]] = Tensor(name, features, rows, hw)
        return layer

    def alias(self, node, src):
        self.tensors[node.output[0]] = src

    # ---- input ---------------------------------------------------------------------------------
    def graph_input(self):
        g = self.model.graph
        ins = [i for i in g.input if i.name not in self.inits]
        if len(ins) != 1:
            fail(f"{self.path}: expected one input tensor, found {len(ins)} ({', '.join(i.name for i in ins)})")
        name = ins[0].name
        s = self.shapes.get(name)
        if not s or len(s) not in (2, 3, 4) or any(d is None for d in s[1:]):
            fail(f"{self.path}: input '{name}' has shape {s}; expected [N, F], [N, S, F] or [N, C, H, W] "
                 "with static dimensions after the batch")
        if self.batch_override:
            self.batch = self.batch_override
        elif s[0]:
            self.batch = s[0]
        else:
            self.batch = 1
            self.assume(f"Batch dimension of '{name}' is symbolic: batch 1 (override with --batch)")
        if len(s) == 2:
            t = Tensor("@in", s[1], 1)
        elif len(s) == 3:
            t = Tensor("@in", s[2], s[1])
        else:
            t = Tensor("@in", s[1], s[2] * s[3], (s[2], s[3]))
        self.tensors[name] = t
        self.input = t

    # ---- nodes ---------------------------------------------------------------------------------
    def attr(self, node, key, default=None):
        for a in node.attribute:
            if a.name == key:
                return onnx.helper.get_attribute_value(a)
        return default

    def fc(self, node, x, k, n, w_name):
        if x.hw is not None and x.rows != 1:
            self.unsupported(node, f"a dense layer on a {x.features} x {x.hw[0]} x {x.hw[1]} map "
                                   "(flatten it first)")
        if x.features != k:
            self.unsupported(node, f"weight '{w_name}' has {k} rows but the input has {x.features} features")
        self.emit(node, {"type": "fc", "input": x.layer, "in": k, "out": n, "act": "none"}, n, x.rows)

    def node_gemm(self, node):
        if self.attr(node, "transA", 0):
            self.unsupported(node, "transA = 1 (the activation must be the left operand)")
        w = node.input[1]
        if w not in self.inits:
            self.unsupported(node, f"operand B '{w}' is not an initializer (weights must be constants)")
        d = self.inits[w]
        if len(d) != 2:
            self.unsupported(node, f"weight '{w}' has rank {len(d)}")
        k, n = (d[1], d[0]) if self.attr(node, "transB", 0) else (d[0], d[1])
        if len(node.input) > 2 and node.input[2]:
            self.assume("Biases (Gemm C, Add of a constant) are folded into the requantization")
        self.fc(node, self.act_in(node), k, n, w)

    def node_matmul(self, node):
        a, w = node.input[0], node.input[1]
        if a in self.inits:
            self.unsupported(node, f"operand A '{a}' is a constant (only activation x weight is supported)")
        if w not in self.inits:
            self.unsupported(node, f"operand B '{w}' is not an initializer (activation x activation "
                                   "products are not supported)")
        d = self.inits[w]
        if len(d) != 2:
            self.unsupported(node, f"weight '{w}' has rank {len(d)} (expected a K x N matrix)")
        self.fc(node, self.act_in(node), d[0], d[1], w)

    def node_conv(self, node):
        x = self.act_in(node)
        if x.hw is None:
            self.unsupported(node, "input is not an NCHW feature map")
        w = node.input[1]
        if w not in self.inits:
            self.unsupported(node, f"weight '{w}' is not an initializer")
        d = self.inits[w]
        if len(d) != 4:
            self.unsupported(node, f"weight '{w}' has rank {len(d)} (only 2-D convolutions)")
        if self.attr(node, "group", 1) != 1:
            self.unsupported(node, f"group = {self.attr(node, 'group')} (only dense convolutions)")
        if any(v != 1 for v in self.attr(node, "dilations", [1, 1])):
            self.unsupported(node, "dilation other than 1")
        cout, cin, kh, kw = d
        if cin != x.features:
            self.unsupported(node, f"weight '{w}' has {cin} input channels, the input {x.features}")
        strides = list(self.attr(node, "strides", [1, 1]))
        if strides[0] != strides[1]:
            self.unsupported(node, f"strides {strides} differ (the format has one stride)")
        pad = self.same_pads(node, kh, kw, x.hw, strides[0])
        h, wd = x.hw
        out_s = self.shape(node, node.output[0])
        ho, wo = (h + 2 * pad - kh) // strides[0] + 1, (wd + 2 * pad - kw) // strides[0] + 1
        if out_s[2:] != [ho, wo]:
            self.unsupported(node, f"inferred output {out_s[2:]} differs from {[ho, wo]}")
        if len(node.input) > 2 and node.input[2]:
            self.assume("Biases (Gemm C, Add of a constant) are folded into the requantization")
        self.emit(node, {"type": "conv2d", "input": x.layer, "in_h": h, "in_w": wd, "in_c": cin, "out_c": cout,
                         "kernel_h": kh, "kernel_w": kw, "stride": strides[0], "pad": pad, "act": "none"},
                  cout, ho * wo, (ho, wo))

    def same_pads(self, node, kh, kw, hw, stride):
        """The one symmetric padding the format has; explicit or auto_pad."""
        auto = self.attr(node, "auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto == "VALID":
            return 0
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if kh != kw or hw[0] != hw[1] or stride != 1 or kh % 2 == 0:
                self.unsupported(node, f"auto_pad {auto} needs an odd square kernel, square map, stride 1")
            return (kh - 1) // 2
        pads = list(self.attr(node, "pads", [0, 0, 0, 0]))
        if len(set(pads)) != 1:
            self.unsupported(node, f"pads {pads} are not equal on every side")
        return pads[0]

    def node_pool(self, node):
        x = self.act_in(node)
        if x.hw is None:
            self.unsupported(node, "input is not an NCHW feature map")
        out_s = self.shape(node, node.output[0])
        if node.op_type == "GlobalAveragePool":
            ho, wo = 1, 1
        else:
            ho, wo = out_s[2], out_s[3]
        rows_out = ho * wo
        kind = "max" if node.op_type == "MaxPool" else "avg"
        window = x.rows // rows_out if rows_out and x.rows % rows_out == 0 else 0
        if window in (2, 4, 8, 16):
            if node.op_type != "GlobalAveragePool":
                k = list(self.attr(node, "kernel_shape", []))
                self.assume(f"{node.op_type} windows (e.g. {'x'.join(map(str, k))}) become a pool over "
                            "consecutive rows with the same row reduction (the format's 1-D window)")
            self.emit(node, {"type": "pool", "input": x.layer, "window": window, "kind": kind, "act": "none"},
                      x.features, rows_out, (ho, wo))
        elif node.op_type == "GlobalAveragePool":
            self.assume("Global average pools over more than 16 positions are done by the host (whm + rhm)")
            self.emit(node, {"type": "host_op", "input": x.layer, "op": "global_avg_pool",
                             "out_rows_per_item": 1}, x.features, 1, (1, 1))
        else:
            self.unsupported(node, f"reduces {x.rows} rows to {rows_out}; the pool window must be a power "
                                   "of two in 2..16")

    def node_act(self, node):
        x = self.act_in(node)
        act = ACTS[node.op_type]
        prod = self.by_name.get(x.layer)
        fusable = prod is not None and prod.get("act") == "none" and self.sole_consumer(node, x.layer)
        if fusable:
            prod["act"] = act
            self.alias(node, x)
        else:
            self.emit(node, {"type": "vector", "op": "copy", "inputs": [x.layer], "act": act},
                      x.features, x.rows, x.hw)

    def sole_consumer(self, node, layer):
        """True when `node` is the only reader of `layer`'s output (through folded aliases too)."""
        readers = 0
        for t, v in self.tensors.items():
            if v.layer != layer:
                continue
            if t in self.graph_outputs:
                return False
            for c in self.consumers.get(t, []):
                out = self.tensors.get(c.output[0]) if c.output else None
                if out is not None and out.layer == layer:
                    continue  # a folded node (bias add, BatchNorm): same values
                readers += 1
        return readers == 1

    def node_binary(self, node):
        a, b = node.input[0], node.input[1]
        consts = [i for i in (a, b) if i in self.inits]
        if len(consts) == 1:
            x = self.act_in(node, 0 if b in self.inits else 1)
            self.assume("Biases (Gemm C, Add of a constant) are folded into the requantization"
                        if node.op_type == "Add" else
                        "Multiplications by constants are folded into the requantization")
            self.alias(node, x)
            return
        if consts:
            self.unsupported(node, "both operands are constants")
        xa, xb = self.act_in(node, 0), self.act_in(node, 1)
        if (xa.features, xa.rows) != (xb.features, xb.rows):
            self.unsupported(node, f"operands differ in shape ({xa.rows} x {xa.features} vs "
                                   f"{xb.rows} x {xb.features} per item; no broadcasting)")
        self.emit(node, {"type": "vector", "op": node.op_type.lower(), "inputs": [xa.layer, xb.layer],
                         "act": "none"}, xa.features, xa.rows, xa.hw)

    def node_flatten(self, node):
        x = self.act_in(node)
        out_s = self.shape(node, node.output[0])
        if node.op_type == "Flatten" and self.attr(node, "axis", 1) != 1:
            self.unsupported(node, f"axis {self.attr(node, 'axis')} (only axis 1: one row per example)")
        if len(out_s) != 2 or out_s[1] != x.features * x.rows:
            self.unsupported(node, f"output shape {out_s} is not [N, {x.features * x.rows}]")
        if x.rows == 1:
            self.tensors[node.output[0]] = Tensor(x.layer, x.features, 1)
            return
        self.assume("Flattening a feature map (rows -> features) is a host relayout (whm + rhm)")
        self.emit(node, {"type": "host_op", "input": x.layer, "op": "flatten",
                         "out_features": x.features * x.rows, "out_rows_per_item": 1},
                  x.features * x.rows, 1)

    def run(self):
        self.graph_input()
        for node in self.model.graph.node:
            op = node.op_type
            if node.domain not in ("", "ai.onnx"):
                self.unsupported(node, f"operator domain '{node.domain}' is not supported")
            if op == "Gemm":
                self.node_gemm(node)
            elif op == "MatMul":
                self.node_matmul(node)
            elif op == "Conv":
                self.node_conv(node)
            elif op in ("MaxPool", "AveragePool", "GlobalAveragePool"):
                self.node_pool(node)
            elif op in ACTS:
                self.node_act(node)
            elif op in ("Add", "Mul"):
                self.node_binary(node)
            elif op in ("Flatten", "Reshape"):
                self.node_flatten(node)
            elif op in FOLDED:
                if op == "BatchNormalization":
                    self.assume("BatchNormalization is folded into the preceding layer's requantization")
                self.alias(node, self.act_in(node))
            elif op == "Constant":
                fail(f"{self.where(node)}: Constant nodes are not supported (store constants as initializers)")
            else:
                self.unsupported(node, f"op type '{op}' is not supported (supported: Gemm, MatMul, Conv, "
                                       "MaxPool, AveragePool, GlobalAveragePool, Relu, Sigmoid, Tanh, Add, Mul, "
                                       "Flatten, Reshape, Identity, Dropout, BatchNormalization)")
        if not self.layers:
            fail(f"{self.path}: no layers (the model has no supported compute nodes)")

    # ---- output --------------------------------------------------------------------------------
    def yaml(self):
        q = json.dumps  # JSON strings are valid YAML double-quoted scalars
        stem = os.path.splitext(os.path.basename(self.path))[0]
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "imported"
        lines = [f"# Imported from ONNX model {self.path} by `tpusim import-onnx` (scripts/import_onnx.py).",
                 f"name: {q(name)}",
                 f"paper: {q('ONNX model ' + os.path.basename(self.path))}",
                 f"description: {q(f'{len(self.layers)} layers imported from {os.path.basename(self.path)}')}",
                 f"batch: {self.batch}",
                 "assumptions:"]
        lines.append('  - "Shapes from onnx.shape_inference; per example, NCHW maps to C features x H*W rows"')
        lines += [f"  - {q(a)}" for a in self.assumptions]
        lines.append(f"input: {{features: {self.input.features}, rows_per_item: {self.input.rows}}}")
        lines.append("layers:")
        for layer in self.layers:
            parts = []
            for k, v in layer.items():
                if isinstance(v, list):
                    parts.append(f"{k}: [{', '.join(q(s) for s in v)}]")
                elif isinstance(v, str) and k in ("name", "input"):
                    parts.append(f"{k}: {q(v)}")
                else:
                    parts.append(f"{k}: {v}")
            lines.append("  - {" + ", ".join(parts) + "}")
        return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description="ONNX model -> tpusim workload YAML (stdout)")
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=0, help="batch (default: the model's, else 1)")
    a = ap.parse_args()
    if a.batch < 0 or a.batch > (1 << 20):
        fail(f"--batch {a.batch}: expected 1..{1 << 20}")
    if not os.path.isfile(a.model):
        fail(f"{a.model}: cannot open")
    imp = Importer(a.model, a.batch)
    imp.run()
    sys.stdout.write(imp.yaml())
    return 0


if __name__ == "__main__":
    sys.exit(main())
