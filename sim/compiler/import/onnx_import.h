// ONNX model -> workload YAML (`tpusim import-onnx MODEL.onnx`).
#pragma once

#include <cstdint>
#include <string>

namespace tpusim {

// Converts the ONNX model at `model` into workload YAML text (sim/compiler/workload.h) and
// returns it. The conversion is scripts/import_onnx.py (the `onnx` package: Gemm/MatMul -> fc,
// Conv -> conv2d, pooling, Relu/Sigmoid/Tanh fused into the producing layer, Add/Mul -> vector),
// run with the Python of the project's venv: $TPUSIM_VENV/bin/python if TPUSIM_VENV is set, else
// data_root()/build/venv/bin/python (scripts/venv.sh creates it). `batch` 0 keeps the model's
// batch (1 when symbolic). The text is parsed with parse_workload before anything is written, so
// a conversion the workload format rejects fails here. Throws InputError when the
// model cannot be read, has an unsupported node (the message names the node, its op type and the
// file), or when the venv or its onnx package is missing (naming scripts/venv.sh);
// std::runtime_error when the script cannot be started.
std::string import_onnx(const std::string& model, uint64_t batch);

}  // namespace tpusim
