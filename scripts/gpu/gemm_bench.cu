// gpu_gemm_bench: the GPU measured baseline of `tpusim compare` (issue 8). Times cuBLASLt GEMMs,
// int8 (s8 x s8 -> s32, int32 compute) and bf16 (bf16 x bf16 -> bf16, fp32 compute), over a
// list of shapes and writes one JSON file with the device, the date and per-shape latency and
// TOPS (2 ops per MAC, as everywhere in tpusim).
//
// Usage:
//   gpu_gemm_bench [--shapes FILE.csv] [--shape MxKxN ...] [--dtypes int8,bf16]
//                  [--warmup N] [--repeats N] [--max-seconds S] [--out FILE.json]
// Shape CSV: one GEMM per line, `layer,m,k,n[,batch_count]`; '#' starts a comment; a header line
// starting with "layer" is skipped. batch_count is passed through to the JSON (the consumer
// multiplies one instance's latency by it).
// Exit codes: 0 done, 77 no usable CUDA GPU (CTest SKIP_RETURN_CODE), 2 bad input, 1 CUDA error.
//
// Layout: every GEMM runs in cuBLASLt's "TN" column-major form (A^T stored K x M, B K x N,
// D M x N), the form its int8 tensor-core kernels require; the timing depends only on (m, k, n).
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int kExitNoGpu = 77;
constexpr int kExitBadInput = 2;
constexpr int kExitCudaError = 1;
constexpr size_t kWorkspaceBytes = 64u << 20;

struct Shape {
  std::string layer;
  uint64_t m = 0, k = 0, n = 0, batch_count = 1;
};

struct Options {
  std::vector<Shape> shapes;
  std::vector<std::string> dtypes = {"int8", "bf16"};
  int warmup = 3;
  int repeats = 10;
  double max_seconds = 120.0;
  std::string out = "gpu_gemm_bench.json";
};

[[noreturn]] void bad_input(const std::string& what) {
  std::fprintf(stderr, "gpu_gemm_bench: %s\n", what.c_str());
  std::exit(kExitBadInput);
}

#define CUDA_CHECK(x)                                                                   \
  do {                                                                                  \
    cudaError_t e_ = (x);                                                               \
    if (e_ != cudaSuccess) {                                                            \
      std::fprintf(stderr, "gpu_gemm_bench: %s failed: %s\n", #x, cudaGetErrorString(e_)); \
      std::exit(kExitCudaError);                                                        \
    }                                                                                   \
  } while (0)

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  out = std::strtoull(s.c_str(), nullptr, 10);
  return errno == 0;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(trim(item));
  return out;
}

Shape parse_shape_arg(const std::string& arg) {
  std::vector<std::string> p = split(arg, 'x');
  Shape s;
  if (p.size() != 3 || !parse_u64(p[0], s.m) || !parse_u64(p[1], s.k) || !parse_u64(p[2], s.n) ||
      !s.m || !s.k || !s.n)
    bad_input("--shape '" + arg + "': expected MxKxN with positive integers");
  s.layer = arg;
  return s;
}

void read_shapes_csv(const std::string& path, std::vector<Shape>& out) {
  std::ifstream in(path);
  if (!in) bad_input("cannot open shape file '" + path + "'");
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty() || line.rfind("layer", 0) == 0) continue;
    std::vector<std::string> f = split(line, ',');
    Shape s;
    bool ok = (f.size() == 4 || f.size() == 5) && parse_u64(f[1], s.m) && parse_u64(f[2], s.k) &&
              parse_u64(f[3], s.n) && (f.size() == 4 || parse_u64(f[4], s.batch_count));
    if (!ok || !s.m || !s.k || !s.n || !s.batch_count)
      bad_input(path + ":" + std::to_string(lineno) +
                ": expected 'layer,m,k,n[,batch_count]' with positive integers");
    s.layer = f[0];
    out.push_back(s);
  }
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad_input(a + " needs a value");
      return argv[++i];
    };
    if (a == "--shapes") {
      read_shapes_csv(value(), o.shapes);
    } else if (a == "--shape") {
      o.shapes.push_back(parse_shape_arg(value()));
    } else if (a == "--dtypes") {
      o.dtypes = split(value(), ',');
    } else if (a == "--warmup" || a == "--repeats") {
      uint64_t v = 0;
      std::string s = value();
      if (!parse_u64(s, v) || v > 100000 || (a == "--repeats" && v == 0))
        bad_input(a + " '" + s + "': expected an integer in [" + (a == "--repeats" ? "1" : "0") +
                  ", 100000]");
      (a == "--warmup" ? o.warmup : o.repeats) = int(v);
    } else if (a == "--max-seconds") {
      std::string s = value();
      char* end = nullptr;
      o.max_seconds = std::strtod(s.c_str(), &end);
      if (*end || !(o.max_seconds > 0)) bad_input("--max-seconds '" + s + "': expected > 0");
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: gpu_gemm_bench [--shapes FILE.csv] [--shape MxKxN ...] "
                  "[--dtypes int8,bf16] [--warmup N] [--repeats N] [--max-seconds S] "
                  "[--out FILE.json]\n");
      std::exit(0);
    } else {
      bad_input("unknown argument '" + a + "' (see --help)");
    }
  }
  for (const auto& d : o.dtypes)
    if (d != "int8" && d != "bf16") bad_input("--dtypes: '" + d + "' (allowed: int8, bf16)");
  if (o.shapes.empty()) bad_input("no shapes: give --shapes FILE.csv or --shape MxKxN");
  return o;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (uint8_t(c) < 0x20) out += ' ';
    else out += c;
  }
  return out;
}

struct Result {
  Shape shape;
  std::string dtype;
  std::string status = "ok";  // ok, no_algorithm, out_of_memory, skipped_time_budget
  double latency_s = 0.0;     // median of one GEMM instance
  double tops = 0.0;
  int samples = 0;
  int iterations_per_sample = 0;
};

const char* lt_status(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
    case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
    case CUBLAS_STATUS_ALLOC_FAILED: return "alloc failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    default: return "error";
  }
}

// Runs one shape in one dtype; the status says why when no timing came out.
Result bench(cublasLtHandle_t lt, void* workspace, const Shape& s, const std::string& dtype,
             const Options& o, cudaStream_t stream) {
  Result r;
  r.shape = s;
  r.dtype = dtype;
  const bool i8 = dtype == "int8";
  const cudaDataType_t ab_t = i8 ? CUDA_R_8I : CUDA_R_16BF;
  const cudaDataType_t d_t = i8 ? CUDA_R_32I : CUDA_R_16BF;
  const cublasComputeType_t comp = i8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F;
  const cudaDataType_t scale_t = i8 ? CUDA_R_32I : CUDA_R_32F;
  const size_t ab_elem = i8 ? 1 : 2, d_elem = i8 ? 4 : 2;

  void *a = nullptr, *b = nullptr, *d = nullptr;
  const size_t a_bytes = s.m * s.k * ab_elem, b_bytes = s.k * s.n * ab_elem,
               d_bytes = s.m * s.n * d_elem;
  if (cudaMalloc(&a, a_bytes) != cudaSuccess || cudaMalloc(&b, b_bytes) != cudaSuccess ||
      cudaMalloc(&d, d_bytes) != cudaSuccess) {
    cudaGetLastError();
    cudaFree(a), cudaFree(b), cudaFree(d);
    r.status = "out_of_memory";
    return r;
  }
  CUDA_CHECK(cudaMemset(a, 1, a_bytes));  // values do not change the timing
  CUDA_CHECK(cudaMemset(b, 1, b_bytes));

  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  cublasLtMatmulDescCreate(&op, comp, scale_t);
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta));
  cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb));
  cublasLtMatrixLayoutCreate(&la, ab_t, s.k, s.m, s.k);  // A^T: K x M, ld K
  cublasLtMatrixLayoutCreate(&lb, ab_t, s.k, s.n, s.k);  // B:   K x N, ld K
  cublasLtMatrixLayoutCreate(&ld, d_t, s.m, s.n, s.m);   // D:   M x N, ld M
  cublasLtMatmulPreferenceCreate(&pref);
  size_t ws = kWorkspaceBytes;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                       sizeof(ws));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, ld, ld, pref, 1, &heur,
                                                     &found);
  const int32_t one_i = 1, zero_i = 0;
  const float one_f = 1.0f, zero_f = 0.0f;
  const void* alpha = i8 ? static_cast<const void*>(&one_i) : &one_f;
  const void* beta = i8 ? static_cast<const void*>(&zero_i) : &zero_f;
  auto launch = [&]() {
    return cublasLtMatmul(lt, op, alpha, a, la, b, lb, beta, d, ld, d, ld, &heur.algo, workspace,
                          kWorkspaceBytes, stream);
  };
  if (hs != CUBLAS_STATUS_SUCCESS || found == 0) {
    r.status = std::string("no_algorithm (") + lt_status(hs) + ")";
  } else {
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    cublasStatus_t ls = CUBLAS_STATUS_SUCCESS;
    float first_ms = 0.0f;
    CUDA_CHECK(cudaEventRecord(e0, stream));
    for (int i = 0; i < std::max(1, o.warmup) && ls == CUBLAS_STATUS_SUCCESS; ++i) ls = launch();
    CUDA_CHECK(cudaEventRecord(e1, stream));
    CUDA_CHECK(cudaEventSynchronize(e1));
    CUDA_CHECK(cudaEventElapsedTime(&first_ms, e0, e1));
    if (ls != CUBLAS_STATUS_SUCCESS) {
      r.status = std::string("launch_failed (") + lt_status(ls) + ")";
    } else {
      // Each sample times enough back-to-back launches to last about 1 ms, so that event
      // resolution and launch gaps do not dominate small GEMMs.
      const double per_call_ms = std::max(1e-4, double(first_ms) / std::max(1, o.warmup));
      r.iterations_per_sample = int(std::clamp(std::ceil(1.0 / per_call_ms), 1.0, 1000.0));
      std::vector<double> samples;
      for (int rep = 0; rep < o.repeats; ++rep) {
        float ms = 0.0f;
        CUDA_CHECK(cudaEventRecord(e0, stream));
        for (int i = 0; i < r.iterations_per_sample; ++i) launch();
        CUDA_CHECK(cudaEventRecord(e1, stream));
        CUDA_CHECK(cudaEventSynchronize(e1));
        CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        samples.push_back(double(ms) * 1e-3 / r.iterations_per_sample);
      }
      std::sort(samples.begin(), samples.end());
      const size_t h = samples.size() / 2;
      r.latency_s = samples.size() % 2 ? samples[h] : 0.5 * (samples[h - 1] + samples[h]);
      r.samples = int(samples.size());
      r.tops = 2.0 * double(s.m) * double(s.k) * double(s.n) / r.latency_s / 1e12;
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(ld);
  cublasLtMatmulDescDestroy(op);
  cudaFree(a), cudaFree(b), cudaFree(d);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);

  int count = 0;
  cudaError_t ce = cudaGetDeviceCount(&count);
  if (ce != cudaSuccess || count == 0) {
    std::fprintf(stderr,
                 "gpu_gemm_bench: no CUDA GPU available (%s); nothing measured, exit %d "
                 "(skipped)\n",
                 ce != cudaSuccess ? cudaGetErrorString(ce) : "0 devices", kExitNoGpu);
    return kExitNoGpu;
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);

  cublasLtHandle_t lt = nullptr;
  if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "gpu_gemm_bench: cublasLtCreate failed\n");
    return kExitCudaError;
  }
  void* workspace = nullptr;
  CUDA_CHECK(cudaMalloc(&workspace, kWorkspaceBytes));
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));

  const auto start = std::chrono::steady_clock::now();
  std::vector<Result> results;
  for (const auto& dtype : o.dtypes) {
    for (const auto& s : o.shapes) {
      const double used =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (used > o.max_seconds) {
        Result r;
        r.shape = s;
        r.dtype = dtype;
        r.status = "skipped_time_budget";
        results.push_back(r);
        continue;
      }
      results.push_back(bench(lt, workspace, s, dtype, o, stream));
      const Result& r = results.back();
      std::printf("%-24s %6s m=%-6llu k=%-6llu n=%-6llu %12.3f us %9.2f TOPS  %s\n",
                  s.layer.c_str(), dtype.c_str(), (unsigned long long)s.m,
                  (unsigned long long)s.k, (unsigned long long)s.n, r.latency_s * 1e6, r.tops,
                  r.status.c_str());
    }
  }

  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  std::ofstream out(o.out);
  if (!out) bad_input("cannot write '" + o.out + "'");
  out << "{\n  \"tool\": \"gpu_gemm_bench\",\n";
  out << "  \"device\": \"" << json_escape(prop.name) << "\",\n";
  out << "  \"compute_capability\": \"" << prop.major << "." << prop.minor << "\",\n";
  out << "  \"memory_bytes\": " << prop.totalGlobalMem << ",\n";
  out << "  \"date\": \"" << date << "\",\n";
  out << "  \"cuda_runtime\": " << runtime << ",\n  \"cuda_driver\": " << driver << ",\n";
  out << "  \"cublaslt\": " << cublasLtGetVersion() << ",\n";
  out << "  \"convention\": \"tops = 2 m k n / latency_s / 1e12; latency_s is the median of one "
         "GEMM instance; multiply by batch_count\",\n";
  out << "  \"results\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    char num[128];
    out << (i ? ",\n" : "\n") << "    {\"layer\": \"" << json_escape(r.shape.layer) << "\"";
    out << ", \"m\": " << r.shape.m << ", \"k\": " << r.shape.k << ", \"n\": " << r.shape.n;
    out << ", \"batch_count\": " << r.shape.batch_count << ", \"dtype\": \"" << r.dtype << "\"";
    std::snprintf(num, sizeof(num), ", \"latency_s\": %.9g, \"tops\": %.6g", r.latency_s, r.tops);
    out << num << ", \"samples\": " << r.samples
        << ", \"iterations_per_sample\": " << r.iterations_per_sample << ", \"status\": \""
        << json_escape(r.status) << "\"}";
  }
  out << "\n  ]\n}\n";
  out.close();
  std::printf("wrote %s (%s)\n", o.out.c_str(), prop.name);

  cudaStreamDestroy(stream);
  cudaFree(workspace);
  cublasLtDestroy(lt);
  // A shape cuBLASLt cannot run is recorded in the JSON with its status, not fatal.
  int failed = 0;
  for (const auto& r : results) failed += r.status != "ok";
  if (failed) std::fprintf(stderr, "gpu_gemm_bench: %d of %zu GEMMs have no timing (see status)\n",
                           failed, results.size());
  return 0;
}
