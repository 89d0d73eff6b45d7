// systolic_array: Rows x Cols PEs with input skew and output de-skew.
//
// Software view: a vector presented on act_i in cycle x (lane r = array row r) leaves as one
// de-skewed row of Cols int32 dot products on psum_o in cycle x + Rows + Cols - 1.
//   - input skew: row r is delayed r cycles, so PE(r, c) sees vector x in cycle x + r + c;
//   - column traversal: PE(Rows-1, c) registers its sum, valid in cycle x + Rows + c;
//   - output de-skew: column c is delayed Cols - 1 - c cycles.
// valid_i/tag_i ride a plain delay line of the same length (Rows + Cols - 1), so the
// accumulator write address (and the mmc's last-row mark) stays aligned with the data.
//
// Weight shift: ShiftPorts row buses per column (one per shift port of this MXU's weight FIFO,
// rtl/weight_fifo.v; lane p * Cols + c is port p's bus of column c). Port p's column c writes
// its shadow register in row weight_sel_i[p*Cols+c] with weight_i[p*Cols+c] when
// weight_valid_i[p*Cols+c]. The weight FIFO skews the columns (column c writes row i in cycle
// s + i + c), so each column is one decoder per port on buses that run down the column. At most
// one port writes a given PE in a cycle (two shifts in flight start >= 2 cycles apart and move
// one row per cycle down the same diagonals, sim/isa/ISA.md "Shift ports"), so a PE's shadow
// write enable is the OR over the ports and its data the byte of the port that hits it.
`default_nettype none

module systolic_array #(
  parameter integer Rows    = 4,
  parameter integer Cols    = 4,
  parameter integer TagBits    = 8,
  parameter integer ShiftPorts = 1,
  localparam integer RowBits = $clog2(Rows),
  localparam integer Lanes   = ShiftPorts * Cols  // (port, column) weight buses, port-major
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  // input vector (from the unified buffer read register)
  input  wire                 valid_i,
  input  wire                 switch_i,
  input  wire [TagBits-1:0]   tag_i,
  input  wire [Rows*8-1:0]    act_i,
  // de-skewed output row
  output wire                 valid_o,
  output wire [TagBits-1:0]   tag_o,
  output wire [Cols*32-1:0]   psum_o,
  // weight shift into the shadow registers
  input  wire [Lanes-1:0]         weight_valid_i,
  input  wire [Lanes*RowBits-1:0] weight_sel_i,
  input  wire [Lanes*8-1:0]       weight_i
);

  localparam integer Depth = Rows + Cols - 1;

  // Mesh nets, one unpacked net per link: act/switch run east, (Rows) x (Cols + 1), link
  // r * (Cols + 1) + c enters PE(r, c); psum runs south, (Rows + 1) x Cols, link r * Cols + c
  // enters PE(r, c). Unpacked, not one packed vector: Verilator then evaluates each link on its
  // own instead of rebuilding an ever-wider concatenation every edge (scripts/bench/
  // cycle_vs_verilator.sh; the packed form cost O(N^4) word copies per edge).
  wire [7:0]  act_h    [0:Rows*(Cols+1)-1];
  wire        switch_h [0:Rows*(Cols+1)-1];
  wire [31:0] psum_v   [0:(Rows+1)*Cols-1];

  genvar r, c, l, p;

  // ---------------------------------------------------------------- input skew
  generate
    for (r = 0; r < Rows; r = r + 1) begin : gen_skew
      if (r == 0) begin : gen_direct
        assign act_h[0]    = act_i[0 +: 8];
        assign switch_h[0] = switch_i;
      end else begin : gen_delay
        reg [8:0] skew_q [0:r-1];
        integer i;
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            for (i = 0; i < r; i = i + 1) skew_q[i] <= 9'd0;
          end else begin
            skew_q[0] <= {switch_i, act_i[r*8 +: 8]};
            for (i = 1; i < r; i = i + 1) skew_q[i] <= skew_q[i-1];
          end
        end
        assign act_h[r*(Cols+1)]    = skew_q[r-1][7:0];
        assign switch_h[r*(Cols+1)] = skew_q[r-1][8];
      end
    end
  endgenerate

  // ---------------------------------------------------------------- shadow write decode
  // lane_we[l][r]: weight bus l (port l / Cols, column l % Cols) writes row r.
  wire [Rows-1:0] lane_we [0:Lanes-1];
  generate
    for (l = 0; l < Lanes; l = l + 1) begin : gen_decode
      assign lane_we[l] = weight_valid_i[l] ? (Rows'(1) << weight_sel_i[l*RowBits +: RowBits])
                                            : {Rows{1'b0}};
    end
  endgenerate

  // ---------------------------------------------------------------- PE mesh
  generate
    for (c = 0; c < Cols; c = c + 1) begin : gen_top
      assign psum_v[c] = 32'd0;
    end
    for (r = 0; r < Rows; r = r + 1) begin : gen_row
      for (c = 0; c < Cols; c = c + 1) begin : gen_col
        // shadow write of PE(r, c): the OR over the ports, the byte of the port that writes
        wire       weight_we;
        wire [7:0] weight;
        if (ShiftPorts == 1) begin : gen_one_port
          assign weight_we = lane_we[c][r];
          assign weight    = weight_i[c*8 +: 8];
        end else begin : gen_port_sel
          reg       we_any;
          reg [7:0] byte_sel;
          integer   q;
          always @* begin
            we_any   = 1'b0;
            byte_sel = 8'd0;
            for (q = 0; q < ShiftPorts; q = q + 1)
              if (lane_we[q*Cols+c][r]) begin
                we_any   = 1'b1;
                byte_sel = byte_sel | weight_i[(q*Cols+c)*8 +: 8];
              end
          end
          assign weight_we = we_any;
          assign weight    = byte_sel;
`ifndef SYNTHESIS
          // at most one port writes this PE in a cycle (see the header)
          wire [ShiftPorts-1:0] hits;
          for (p = 0; p < ShiftPorts; p = p + 1) begin : gen_hit
            assign hits[p] = lane_we[p*Cols+c][r];
          end
          always @(posedge clk_i) begin
            if (rst_ni) assert ($onehot0(hits)) else $error("two shift ports write one PE");
          end
`endif
        end
        pe u_pe (
          .clk_i       (clk_i),
          .rst_ni      (rst_ni),
          .act_i       (act_h[r*(Cols+1)+c]),
          .switch_i    (switch_h[r*(Cols+1)+c]),
          .act_o       (act_h[r*(Cols+1)+c+1]),
          .switch_o    (switch_h[r*(Cols+1)+c+1]),
          .psum_i      (psum_v[r*Cols+c]),
          .psum_o      (psum_v[(r+1)*Cols+c]),
          .weight_we_i (weight_we),
          .weight_i    (weight)
        );
      end
    end
  endgenerate

  // The east edge of the mesh has no consumer.
  wire [Rows*8-1:0] unused_act_east;
  wire [Rows-1:0]   unused_switch_east;
  generate
    for (r = 0; r < Rows; r = r + 1) begin : gen_east
      assign unused_act_east[r*8 +: 8]  = act_h[r*(Cols+1)+Cols];
      assign unused_switch_east[r]      = switch_h[r*(Cols+1)+Cols];
    end
  endgenerate

  // ---------------------------------------------------------------- output de-skew
  generate
    for (c = 0; c < Cols; c = c + 1) begin : gen_deskew
      if (c == Cols - 1) begin : gen_direct
        assign psum_o[c*32 +: 32] = psum_v[Rows*Cols+c];
      end else begin : gen_delay
        localparam integer D = Cols - 1 - c;
        reg [31:0] deskew_q [0:D-1];
        integer i;
        always @(posedge clk_i) begin
          deskew_q[0] <= psum_v[Rows*Cols+c];
          for (i = 1; i < D; i = i + 1) deskew_q[i] <= deskew_q[i-1];
        end
        assign psum_o[c*32 +: 32] = deskew_q[D-1];
      end
    end
  endgenerate

  // ---------------------------------------------------------------- valid / tag delay line
  reg [Depth-1:0]  valid_q;
  reg [TagBits-1:0] tag_q [0:Depth-1];
  integer k;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= {Depth{1'b0}};
    end else begin
      valid_q <= {valid_q[Depth-2:0], valid_i};
    end
  end
  always @(posedge clk_i) begin
    tag_q[0] <= tag_i;
    for (k = 1; k < Depth; k = k + 1) tag_q[k] <= tag_q[k-1];
  end

  assign valid_o = valid_q[Depth-1];
  assign tag_o   = tag_q[Depth-1];

endmodule

`default_nettype wire
