// activation_unit: accumulator rows -> requantize -> function -> pooling -> unified buffer.
//
// `act a, b, n` issued in cycle t reads one accumulator row per cycle, t + k for step k, and runs
// it down a pipeline (timing::act_pipeline_cycles = 4 stages after the read cycle):
//   stage 1  t+k+1  accumulator data; requantize (numerics::requantize)
//   stage 2  t+k+2  function: none / ReLU / sigmoid LUT / tanh LUT (numerics::apply_function)
//   stage 3  t+k+3  pooling: max, or sum then average (numerics::average_pow2 for a 1-D group,
//                   numerics::average_recip for a 2-D window)
//   stage 4  t+k+4  unified-buffer write of the finished group or window, vector b + (its
//                   index); lanes Cols..VecBytes-1 are written with zero
// Steps (sim/isa/ISA.md): 1-D, row a + k for k < n, groups of P = 2^d consecutive rows; 2-D
// (pool2d_i), an address walker visits the d output windows in raster order and each window's
// kh x kw positions in raster order, one per cycle: d x kh x kw steps. A position outside the
// H x W image reads an arbitrary row and feeds the pool's neutral value instead (-128 for max,
// 0 for avg). So the unit is busy in [t, t + steps + 4) and complete from t + steps + 4.
// mult/shift/round, the pool registers and the UB address are latched at issue.
`default_nettype none

module activation_unit #(
  parameter integer Cols          = 4,
  parameter integer VecBytes      = 4,
  parameter integer AccEntries    = 256,
  parameter integer UbVectors     = 1024,
  parameter         SigmoidMemFile = "act_sigmoid.mem",
  parameter         TanhMemFile    = "act_tanh.mem",
  localparam integer AccAddrBits  = $clog2(AccEntries),
  localparam integer UbAddrBits   = $clog2(UbVectors)
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  // command
  input  wire                   start_i,
  input  wire [31:0]            acc_addr_i,
  input  wire [31:0]            ub_addr_i,
  input  wire [31:0]            n_i,
  input  wire [1:0]             function_i,
  input  wire [1:0]             pool_i,
  input  wire [2:0]             pool_log2_i,
  input  wire                   pool2d_i,       // 2-D window; pool_log2_i is then ignored
  input  wire [15:0]            out_n_i,        // 2-D: output windows (field d)
  input  wire [31:0]            pool_in_i,      // W [15:0], H [31:16]
  input  wire [31:0]            pool_window_i,  // kh, kw, sh, sw (bytes, each 1..16)
  input  wire [31:0]            pool_pad_i,     // top, left, bottom, right (bytes, each 0..15)
  input  wire [24:0]            pool_recip_i,   // average = sum x recip / 2^24
  input  wire [31:0]            mult_i,
  input  wire [5:0]             shift_i,
  input  wire [1:0]             round_i,
  output wire                   busy_o,
  // accumulator read port
  output wire [AccAddrBits-1:0] acc_rd_addr_o,
  input  wire [Cols*32-1:0]     acc_rd_data_i,
  // unified buffer write port
  output wire                   ub_we_o,
  output wire [UbAddrBits-1:0]  ub_addr_o,
  output wire [VecBytes*8-1:0]  ub_wdata_o
);

  localparam [1:0] FnRelu = 2'd1, FnSigmoid = 2'd2, FnTanh = 2'd3;
  localparam [1:0] PoolAvg = 2'd2;
  localparam [1:0] RoundHalfAway = 2'd0, RoundHalfUp = 2'd1;

  reg [7:0] sigmoid_lut [0:255];
  reg [7:0] tanh_lut    [0:255];
  initial begin
    $readmemh(SigmoidMemFile, sigmoid_lut);
    $readmemh(TanhMemFile, tanh_lut);
  end

  // ---------------------------------------------------------------- configuration (latched)
  reg [1:0]             func_q, pool_q;
  reg [2:0]             log2_q;
  reg [31:0]            mult_q;
  reg [5:0]             shift_q;
  reg [1:0]             round_q;
  reg [UbAddrBits-1:0]  out_addr_q;
  reg                   p2d_q;
  reg [24:0]            recip_q;

  // ---------------------------------------------------------------- stage 0: read
  reg [31:0]            left_q;
  reg [AccAddrBits-1:0] rd_addr_q;
  reg [4:0]             grp_q;

  wire                   two_d   = start_i ? pool2d_i : p2d_q;
  wire [2:0]             log2    = start_i ? pool_log2_i : log2_q;
  wire [4:0]             grp     = start_i ? 5'd0 : grp_q;
  wire [4:0]             grp_max = 5'((5'd1 << log2) - 5'd1);

  // 2-D walker: geometry latched at issue; the window origin (oxo, oyo) = (ox*sw - pl,
  // oy*sh - pt), row_q = a + oyo*W - pl (the row's first window), win_q = that window's origin
  // row, off_q = ky*W + kx (all accumulator addresses modulo the entries).
  reg [15:0]            gw_q, gh_q;
  reg [4:0]             kh_q, kw_q, sh_q, sw_q;
  reg [4:0]             pl_q, pr_q;
  reg [4:0]             kx_q, ky_q;
  reg signed [17:0]     oxo_q, oyo_q;
  reg [AccAddrBits-1:0] row_q, win_q, off_q;

  wire [15:0]            gw   = start_i ? pool_in_i[15:0] : gw_q;
  wire [15:0]            gh   = start_i ? pool_in_i[31:16] : gh_q;
  wire [4:0]             kh   = start_i ? pool_window_i[4:0] : kh_q;
  wire [4:0]             kw   = start_i ? pool_window_i[12:8] : kw_q;
  wire [4:0]             sh   = start_i ? pool_window_i[20:16] : sh_q;
  wire [4:0]             sw   = start_i ? pool_window_i[28:24] : sw_q;
  wire [4:0]             pl   = start_i ? pool_pad_i[12:8] : pl_q;
  wire [4:0]             pr   = start_i ? pool_pad_i[28:24] : pr_q;
  wire [4:0]             kx   = start_i ? 5'd0 : kx_q;
  wire [4:0]             ky   = start_i ? 5'd0 : ky_q;
  wire [AccAddrBits-1:0] org0 = AccAddrBits'(acc_addr_i - 32'(pool_pad_i[4:0]) *
                                32'(pool_in_i[15:0]) - 32'(pool_pad_i[12:8]));
  wire signed [17:0]     oxo  = start_i ? -$signed({13'd0, pool_pad_i[12:8]}) : oxo_q;
  wire signed [17:0]     oyo  = start_i ? -$signed({13'd0, pool_pad_i[4:0]}) : oyo_q;
  wire [AccAddrBits-1:0] row  = start_i ? org0 : row_q;
  wire [AccAddrBits-1:0] win  = start_i ? org0 : win_q;
  wire [AccAddrBits-1:0] off  = start_i ? {AccAddrBits{1'b0}} : off_q;
  wire signed [17:0]     iy   = oyo + $signed({13'd0, ky});
  wire signed [17:0]     ix   = oxo + $signed({13'd0, kx});
  wire                   inb  = (iy >= 0) && (iy < $signed({2'd0, gh})) &&
                                (ix >= 0) && (ix < $signed({2'd0, gw}));
  wire                   kx_end = (kx == kw - 5'd1);
  wire                   ky_end = (ky == kh - 5'd1);
  // the next window would pass the right padding: wrap to the next window row
  wire                   x_wrap = (oxo + $signed({13'd0, sw}) + $signed({13'd0, kw})) >
                                  ($signed({2'd0, gw}) + $signed({13'd0, pr}));
  wire [AccAddrBits-1:0] gw_a   = AccAddrBits'(gw);
  wire [AccAddrBits-1:0] row_dn = row + AccAddrBits'(32'(sh) * 32'(gw));

  wire [31:0]            steps2d = 32'(out_n_i) * 32'(pool_window_i[4:0]) *
                                   32'(pool_window_i[12:8]);
  wire                   s0_on   = start_i || (left_q != 32'd0);
  wire [31:0]            left    = start_i ? (pool2d_i ? steps2d : n_i) : left_q;
  wire [AccAddrBits-1:0] rd_addr = start_i ? acc_addr_i[AccAddrBits-1:0] : rd_addr_q;
  wire                   s0_first = two_d ? (kx == 5'd0 && ky == 5'd0) : (grp == 5'd0);
  wire                   s0_last  = two_d ? (kx_end && ky_end) : (grp == grp_max);
  wire                   s0_inb   = two_d ? inb : 1'b1;

  reg        v1_q, v2_q, v3_q, v4_q;
  reg        first1_q, first2_q, first3_q;
  reg        last1_q, last2_q, last3_q;
  reg        inb1_q, inb2_q, inb3_q;
  reg [Cols*8-1:0]  q2_q, q3_q;
  reg [Cols*8-1:0]  q4_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      left_q <= 32'd0;
      v1_q   <= 1'b0;
      v2_q   <= 1'b0;
      v3_q   <= 1'b0;
      v4_q   <= 1'b0;
    end else begin
      left_q <= left - (s0_on ? 32'd1 : 32'd0);
      v1_q   <= s0_on;
      v2_q   <= v1_q;
      v3_q   <= v2_q;
      v4_q   <= v3_q && last3_q;
    end
  end

  always @(posedge clk_i) begin
    if (start_i) begin
      func_q     <= function_i;
      pool_q     <= pool_i;
      log2_q     <= pool_log2_i;
      mult_q     <= mult_i;
      shift_q    <= shift_i;
      round_q    <= round_i;
      p2d_q      <= pool2d_i;
      recip_q    <= pool_recip_i;
      gw_q       <= gw;
      gh_q       <= gh;
      kh_q       <= kh;
      kw_q       <= kw;
      sh_q       <= sh;
      sw_q       <= sw;
      pl_q       <= pl;
      pr_q       <= pr;
    end
    rd_addr_q <= rd_addr + 1'b1;
    grp_q     <= s0_last ? 5'd0 : grp + 5'd1;
    // 2-D walk: the next window position
    if (!(s0_on && two_d)) begin
      // hold
    end else if (!kx_end) begin
      kx_q  <= kx + 5'd1;
      ky_q  <= ky;
      off_q <= off + 1'b1;
      oxo_q <= oxo;
      oyo_q <= oyo;
      row_q <= row;
      win_q <= win;
    end else if (!ky_end) begin
      kx_q  <= 5'd0;
      ky_q  <= ky + 5'd1;
      off_q <= off + gw_a - AccAddrBits'({27'd0, kw} - 32'd1);
      oxo_q <= oxo;
      oyo_q <= oyo;
      row_q <= row;
      win_q <= win;
    end else if (!x_wrap) begin
      kx_q  <= 5'd0;
      ky_q  <= 5'd0;
      off_q <= {AccAddrBits{1'b0}};
      oxo_q <= oxo + $signed({13'd0, sw});
      oyo_q <= oyo;
      row_q <= row;
      win_q <= win + AccAddrBits'(sw);
    end else begin
      kx_q  <= 5'd0;
      ky_q  <= 5'd0;
      off_q <= {AccAddrBits{1'b0}};
      oxo_q <= -$signed({13'd0, pl});
      oyo_q <= oyo + $signed({13'd0, sh});
      row_q <= row_dn;
      win_q <= row_dn;
    end
    first1_q  <= s0_first;
    last1_q   <= s0_last;
    inb1_q    <= s0_inb;
    first2_q  <= first1_q;
    last2_q   <= last1_q;
    inb2_q    <= inb1_q;
    first3_q  <= first2_q;
    last3_q   <= last2_q;
    inb3_q    <= inb2_q;
    if (start_i) out_addr_q <= ub_addr_i[UbAddrBits-1:0];
    else if (v4_q) out_addr_q <= out_addr_q + 1'b1;
  end

  assign acc_rd_addr_o = two_d ? (win + off) : rd_addr;

  // ---------------------------------------------------------------- per-lane datapath
  wire signed [63:0] half = (shift_q == 6'd0) ? 64'sd0 : (64'sd1 <<< (shift_q - 6'd1));
  wire signed [15:0] pool_half = (log2_q == 3'd0) ? 16'sd0 : (16'sd1 <<< (log2_q - 3'd1));

  reg signed [15:0] pool_q_lane [0:Cols-1];

  genvar c;
  generate
    for (c = 0; c < Cols; c = c + 1) begin : gen_lane
      // stage 1: requantize = saturate(rounding_shift(acc * mult, shift))
      wire [31:0]        acc  = acc_rd_data_i[c*32 +: 32];
      wire signed [63:0] prod = $signed({{32{acc[31]}}, acc}) * $signed({{32{mult_q[31]}}, mult_q});
      wire signed [63:0] pos  = (prod + half) >>> shift_q;
      wire signed [63:0] neg  = -((-prod + half) >>> shift_q);
      wire signed [63:0] flr  = prod >>> shift_q;
      wire signed [63:0] rnd  = (round_q == RoundHalfAway) ? ((prod >= 0) ? pos : neg) :
                                (round_q == RoundHalfUp)   ? pos : flr;
      wire [7:0]         req  = (rnd > 64'sd127)  ? 8'h7f :
                                (rnd < -64'sd128) ? 8'h80 : rnd[7:0];
      always @(posedge clk_i) q2_q[c*8 +: 8] <= req;

      // stage 2: function
      wire [7:0] x  = q2_q[c*8 +: 8];
      wire [7:0] fn = (func_q == FnRelu)    ? (x[7] ? 8'd0 : x) :
                      (func_q == FnSigmoid) ? sigmoid_lut[x ^ 8'h80] :
                      (func_q == FnTanh)    ? tanh_lut[x ^ 8'h80] : x;
      always @(posedge clk_i) q3_q[c*8 +: 8] <= fn;

      // stage 3: pooling (P = 1 passes the value through for every pool kind); a 2-D window
      // position outside the image feeds the neutral value
      wire signed [15:0] val = inb3_q ? {{8{q3_q[c*8+7]}}, q3_q[c*8 +: 8]} :
                               (pool_q == PoolAvg) ? 16'sd0 : -16'sd128;
      wire signed [15:0] acc_p = pool_q_lane[c];
      wire signed [15:0] cur = first3_q ? val :
                               (pool_q == PoolAvg) ? (acc_p + val) :
                               ((val > acc_p) ? val : acc_p);
      wire signed [15:0] avg_pos = (cur + pool_half) >>> log2_q;
      wire signed [15:0] avg_neg = -((-cur + pool_half) >>> log2_q);
      wire signed [15:0] avg_1d = (cur >= 0) ? avg_pos : avg_neg;
      // 2-D: sign x ((|cur| x recip + 2^23) >> 24)
      wire        [16:0] mag   = cur[15] ? 17'(-{cur[15], cur}) : 17'(cur);
      wire        [17:0] mq    = 18'((42'(mag) * 42'(recip_q) + 42'(1 << 23)) >> 24);
      wire signed [18:0] avg_2d = cur[15] ? -$signed({1'b0, mq}) : $signed({1'b0, mq});
      wire signed [18:0] avg = p2d_q ? avg_2d : {{3{avg_1d[15]}}, avg_1d};
      wire [7:0] avg8 = (avg > 19'sd127) ? 8'h7f : (avg < -19'sd128) ? 8'h80 : avg[7:0];
      wire [7:0] out  = (pool_q == PoolAvg) ? avg8 : cur[7:0];
      always @(posedge clk_i) begin
        if (v3_q) pool_q_lane[c] <= cur;
        if (v3_q && last3_q) q4_q[c*8 +: 8] <= out;
      end
    end
  endgenerate

  // ---------------------------------------------------------------- stage 4: UB write
  assign ub_we_o    = v4_q;
  assign ub_addr_o  = out_addr_q;
  generate
    if (VecBytes > Cols) begin : gen_pad
      assign ub_wdata_o = {{(VecBytes-Cols)*8{1'b0}}, q4_q};
    end else begin : gen_nopad
      assign ub_wdata_o = q4_q;
    end
  endgenerate

  assign busy_o = (left_q != 32'd0) || v1_q || v2_q || v3_q || v4_q;

  wire unused_cfg = ^{acc_addr_i[31:AccAddrBits], ub_addr_i[31:UbAddrBits], pool_window_i[7:5],
                      pool_window_i[15:13], pool_window_i[23:21], pool_window_i[31:29],
                      pool_pad_i[7:5], pool_pad_i[15:13], pool_pad_i[31:29], pool_pad_i[23:16]};

endmodule

`default_nettype wire
