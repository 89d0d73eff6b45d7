// activation_unit: accumulator rows -> requantize -> function -> pooling -> unified buffer.
//
// `act a, b, n` issued in cycle t latches its command; step k reads one accumulator row in cycle
// t + 1 + k and runs it down a pipeline (timing::act_pipeline_cycles = 6: the command register,
// then five stages after the read, k' = k + 1):
//   stage 1  t+k'+1  accumulator data; the product acc x mult (int64)
//   stage 2  t+k'+2  requantize: rounding shift and saturation of the product
//                    (numerics::requantize), then the function: none / ReLU / sigmoid ROM /
//                    tanh ROM (numerics::apply_function; rtl/act_lut.v)
//   stage 3  t+k'+3  pooling: max, or the running sum (a group's or window's last row latches it)
//   stage 4  t+k'+4  the group's or window's result: the value, or the average
//                    (numerics::average_pow2 for a 1-D group, numerics::average_recip for 2-D)
//   stage 5  t+k'+5  unified-buffer write of the finished group or window, vector b + (its
//                    index); lanes Cols..VecBytes-1 are written with zero
// The cuts keep every stage within about 1.5x the logic depth of the PE's multiply-add, and the
// command register keeps the controller's issue decision out of the unit's read path
// (scripts/yosys_area.sh; results/rtl/synthesis.md).
// Steps (sim/isa/ISA.md): 1-D, row a + k for k < n, groups of P = 2^d consecutive rows; 2-D
// (pool2d_i), an address walker visits the d output windows in raster order and each window's
// kh x kw positions in raster order, one per cycle: d x kh x kw steps. A position outside the
// H x W image reads an arbitrary row and feeds the pool's neutral value instead (-128 for max,
// 0 for avg). So the unit is busy in [t, t + steps + 6) and complete from t + steps + 6.
// mult/shift/round, the pool registers and the UB address are latched at issue.
`default_nettype none

module activation_unit #(
  parameter integer Cols          = 4,
  parameter integer VecBytes      = 4,
  parameter integer AccEntries    = 256,
  parameter integer UbVectors     = 1024,
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
  output wire                   acc_rd_en_o,
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

  wire                   two_d   = p2d_q;
  wire [4:0]             grp_max = 5'((5'd1 << log2_q) - 5'd1);

  // 2-D walker: geometry latched at issue; the window origin (oxo, oyo) = (ox*sw - pl,
  // oy*sh - pt), row_q = a + oyo*W - pl (the row's first window), win_q = that window's origin
  // row, off_q = ky*W + kx (all accumulator addresses modulo the entries).
  reg [15:0]            gw_q, gh_q;
  reg [4:0]             kh_q, kw_q, sh_q, sw_q;
  reg [4:0]             pl_q, pr_q;
  reg [4:0]             kx_q, ky_q;
  reg signed [17:0]     oxo_q, oyo_q;
  reg [AccAddrBits-1:0] row_q, win_q, off_q;

  wire [AccAddrBits-1:0] org0 = AccAddrBits'(acc_addr_i - 32'(pool_pad_i[4:0]) *
                                32'(pool_in_i[15:0]) - 32'(pool_pad_i[12:8]));
  wire signed [17:0]     iy   = oyo_q + $signed({13'd0, ky_q});
  wire signed [17:0]     ix   = oxo_q + $signed({13'd0, kx_q});
  wire                   inb  = (iy >= 0) && (iy < $signed({2'd0, gh_q})) &&
                                (ix >= 0) && (ix < $signed({2'd0, gw_q}));
  wire                   kx_end = (kx_q == kw_q - 5'd1);
  wire                   ky_end = (ky_q == kh_q - 5'd1);
  // the next window would pass the right padding: wrap to the next window row
  wire                   x_wrap = (oxo_q + $signed({13'd0, sw_q}) + $signed({13'd0, kw_q})) >
                                  ($signed({2'd0, gw_q}) + $signed({13'd0, pr_q}));
  wire [AccAddrBits-1:0] gw_a   = AccAddrBits'(gw_q);
  wire [AccAddrBits-1:0] row_dn = row_q + AccAddrBits'(32'(sh_q) * 32'(gw_q));

  wire [31:0]            steps2d = 32'(out_n_i) * 32'(pool_window_i[4:0]) *
                                   32'(pool_window_i[12:8]);
  // The command is latched at issue (cycle t); step k reads in cycle t + 1 + k, from registers
  // only, so no path runs from the controller's issue decision into the walker or the read.
  wire                   s0_on    = (left_q != 32'd0);
  wire                   s0_first = two_d ? (kx_q == 5'd0 && ky_q == 5'd0) : (grp_q == 5'd0);
  wire                   s0_last  = two_d ? (kx_end && ky_end) : (grp_q == grp_max);
  wire                   s0_inb   = two_d ? inb : 1'b1;

  reg        v1_q, v2_q, v3_q, v4_q, v5_q;
  reg        first1_q, first2_q, first3_q;
  reg        last1_q, last2_q, last3_q;
  reg        inb1_q, inb2_q, inb3_q;
  reg [Cols*64-1:0] p2_q;   // stage 1 -> 2: the products
  reg [Cols*8-1:0]  q3_q;   // stage 2 -> 3: requantized, function applied
  reg [Cols*8-1:0]  q5_q;   // stage 4 -> 5: the UB write data

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      left_q <= 32'd0;
      v1_q   <= 1'b0;
      v2_q   <= 1'b0;
      v3_q   <= 1'b0;
      v4_q   <= 1'b0;
      v5_q   <= 1'b0;
    end else begin
      if (start_i) left_q <= pool2d_i ? steps2d : n_i;
      else if (s0_on) left_q <= left_q - 32'd1;
      v1_q   <= s0_on;
      v2_q   <= v1_q;
      v3_q   <= v2_q;
      v4_q   <= v3_q && last3_q;
      v5_q   <= v4_q;
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
      gw_q       <= pool_in_i[15:0];
      gh_q       <= pool_in_i[31:16];
      kh_q       <= pool_window_i[4:0];
      kw_q       <= pool_window_i[12:8];
      sh_q       <= pool_window_i[20:16];
      sw_q       <= pool_window_i[28:24];
      pl_q       <= pool_pad_i[12:8];
      pr_q       <= pool_pad_i[28:24];
    end
    if (start_i) begin
      rd_addr_q <= acc_addr_i[AccAddrBits-1:0];
      grp_q     <= 5'd0;
    end else begin
      rd_addr_q <= rd_addr_q + 1'b1;
      grp_q     <= s0_last ? 5'd0 : grp_q + 5'd1;
    end
    // 2-D walk: the first window position at issue, then the next one per step
    if (start_i) begin
      kx_q  <= 5'd0;
      ky_q  <= 5'd0;
      off_q <= {AccAddrBits{1'b0}};
      oxo_q <= -$signed({13'd0, pool_pad_i[12:8]});
      oyo_q <= -$signed({13'd0, pool_pad_i[4:0]});
      row_q <= org0;
      win_q <= org0;
    end else if (!(s0_on && two_d)) begin
      // hold
    end else if (!kx_end) begin
      kx_q  <= kx_q + 5'd1;
      off_q <= off_q + 1'b1;
    end else if (!ky_end) begin
      kx_q  <= 5'd0;
      ky_q  <= ky_q + 5'd1;
      off_q <= off_q + gw_a - AccAddrBits'({27'd0, kw_q} - 32'd1);
    end else if (!x_wrap) begin
      kx_q  <= 5'd0;
      ky_q  <= 5'd0;
      off_q <= {AccAddrBits{1'b0}};
      oxo_q <= oxo_q + $signed({13'd0, sw_q});
      win_q <= win_q + AccAddrBits'(sw_q);
    end else begin
      kx_q  <= 5'd0;
      ky_q  <= 5'd0;
      off_q <= {AccAddrBits{1'b0}};
      oxo_q <= -$signed({13'd0, pl_q});
      oyo_q <= oyo_q + $signed({13'd0, sh_q});
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
    else if (v5_q) out_addr_q <= out_addr_q + 1'b1;
  end

  // a step reads its row (a 2-D window position in the padding reads none: its value is unused)
  assign acc_rd_en_o   = s0_on && s0_inb;
  assign acc_rd_addr_o = two_d ? (win_q + off_q) : rd_addr_q;

  // ---------------------------------------------------------------- per-lane datapath
  // requantize's rounding as a shift and an increment (exact for every mode; numerics.h):
  // r = prod >>> shift, inc = the bit below r (half-up, or half-away from a product >= 0); for a
  // negative product rounded half away from zero, that bit and a nonzero remainder under it
  wire [63:0] half_bit   = (shift_q == 6'd0) ? 64'd0 : (64'd1 << (shift_q - 6'd1));
  wire [63:0] below_half = half_bit - ((shift_q == 6'd0) ? 64'd0 : 64'd1);
  wire signed [15:0] pool_half = (log2_q == 3'd0) ? 16'sd0 : (16'sd1 <<< (log2_q - 3'd1));

  reg signed [15:0] pool_q_lane [0:Cols-1];
  reg signed [15:0] cur4_q [0:Cols-1];  // stage 3 -> 4: the group's max or sum
  reg        [16:0] mag4_q [0:Cols-1];  // and its magnitude (2-D average)

  genvar c;
  generate
    for (c = 0; c < Cols; c = c + 1) begin : gen_lane
      // stage 1: the product
      wire [31:0] acc = acc_rd_data_i[c*32 +: 32];
      always @(posedge clk_i)
        p2_q[c*64 +: 64] <= $signed({{32{acc[31]}}, acc}) * $signed({{32{mult_q[31]}}, mult_q});

      // stage 2: saturate(rounding_shift(prod, shift)), then the function
      wire [63:0]        prod  = p2_q[c*64 +: 64];
      wire signed [63:0] r     = $signed(prod) >>> shift_q;
      wire               b     = |(prod & half_bit);
      wire               stick = |(prod & below_half);
      wire               inc   = (round_q == RoundHalfAway) ? (prod[63] ? (b && stick) : b) :
                                 (round_q == RoundHalfUp)   ? b : 1'b0;
      wire [7:0]         req   = ((r > 64'sd127) || (r == 64'sd127 && inc)) ? 8'h7f :
                                 (r < -64'sd128) ? 8'h80 : 8'(r[7:0] + {7'd0, inc});
      wire [7:0]         sig_v, tanh_v;
      act_lut u_lut (
        .x_i       (req ^ 8'h80),
        .sigmoid_o (sig_v),
        .tanh_o    (tanh_v)
      );
      wire [7:0] fn = (func_q == FnRelu)    ? (req[7] ? 8'd0 : req) :
                      (func_q == FnSigmoid) ? sig_v :
                      (func_q == FnTanh)    ? tanh_v : req;
      always @(posedge clk_i) q3_q[c*8 +: 8] <= fn;

      // stage 3: pooling (P = 1 passes the value through for every pool kind); a 2-D window
      // position outside the image feeds the neutral value
      wire signed [15:0] val = inb3_q ? {{8{q3_q[c*8+7]}}, q3_q[c*8 +: 8]} :
                               (pool_q == PoolAvg) ? 16'sd0 : -16'sd128;
      wire signed [15:0] acc_p = pool_q_lane[c];
      wire signed [15:0] cur = first3_q ? val :
                               (pool_q == PoolAvg) ? (acc_p + val) :
                               ((val > acc_p) ? val : acc_p);
      always @(posedge clk_i) begin
        if (v3_q) pool_q_lane[c] <= cur;
        if (v3_q && last3_q) begin
          cur4_q[c] <= cur;
          mag4_q[c] <= cur[15] ? 17'(-{cur[15], cur}) : 17'(cur);
        end
      end

      // stage 4: the result of the group or window
      wire signed [15:0] cr      = cur4_q[c];
      wire signed [15:0] avg_pos = (cr + pool_half) >>> log2_q;
      wire signed [15:0] avg_neg = -((-cr + pool_half) >>> log2_q);
      wire signed [15:0] avg_1d  = (cr >= 0) ? avg_pos : avg_neg;
      // 2-D: sign x ((|cur| x recip + 2^23) >> 24)
      wire        [17:0] mq      = 18'((42'(mag4_q[c]) * 42'(recip_q) + 42'(1 << 23)) >> 24);
      wire signed [18:0] avg_2d  = cr[15] ? -$signed({1'b0, mq}) : $signed({1'b0, mq});
      wire signed [18:0] avg     = p2d_q ? avg_2d : {{3{avg_1d[15]}}, avg_1d};
      wire [7:0] avg8 = (avg > 19'sd127) ? 8'h7f : (avg < -19'sd128) ? 8'h80 : avg[7:0];
      wire [7:0] out  = (pool_q == PoolAvg) ? avg8 : cr[7:0];
      always @(posedge clk_i) if (v4_q) q5_q[c*8 +: 8] <= out;
    end
  endgenerate

  // ---------------------------------------------------------------- stage 5: UB write
  assign ub_we_o    = v5_q;
  assign ub_addr_o  = out_addr_q;
  generate
    if (VecBytes > Cols) begin : gen_pad
      assign ub_wdata_o = {{(VecBytes-Cols)*8{1'b0}}, q5_q};
    end else begin : gen_nopad
      assign ub_wdata_o = q5_q;
    end
  endgenerate

  assign busy_o = (left_q != 32'd0) || v1_q || v2_q || v3_q || v4_q || v5_q;

  wire unused_cfg = ^{acc_addr_i[31:AccAddrBits], ub_addr_i[31:UbAddrBits], pool_window_i[7:5],
                      pool_window_i[15:13], pool_window_i[23:21], pool_window_i[31:29],
                      pool_pad_i[7:5], pool_pad_i[15:13], pool_pad_i[31:29], pool_pad_i[23:16]};

endmodule

`default_nettype wire
