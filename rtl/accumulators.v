// accumulators: AccEntries rows of Cols int32 (the matmul results), one address space shared by
// every MXU.
//
// Write ports, one per MXU (field m of each wr_* bus): MXU m's de-skewed output row enters write
// stage register m (cycle t + i + Rows + Cols, for input row i injected at t + i) and is
// written, accumulated or overwritten, in the next cycle, t + i + timing::mxu_latency_cycles.
// Race-free programs (sim/isa/ISA.md) never let two MXUs write one row in the same cycle, nor
// one MXU read-modify-write a row another writes; the ports are applied in MXU order, each
// reading the row as it was before the edge. mmc_done_o[m] is high in the cycle that writes an
// mmc's last row on port m (wr_last_i[m]): the controller counts MXU m's mmc complete.
// Read port (activation unit): registered, address in cycle t, data in cycle t + 1.
// Arithmetic is int32 wrap-around (numerics::wrap_add).
`default_nettype none

module accumulators #(
  parameter integer AccEntries = 256,
  parameter integer Cols       = 4,
  parameter integer Mxus       = 1,
  localparam integer AddrBits  = $clog2(AccEntries)
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  input  wire [Mxus-1:0]           wr_valid_i,
  input  wire [Mxus-1:0]           wr_accumulate_i,
  input  wire [Mxus-1:0]           wr_last_i,
  input  wire [Mxus*AddrBits-1:0]  wr_addr_i,
  input  wire [Mxus*Cols*32-1:0]   wr_data_i,
  output wire [Mxus-1:0]           mmc_done_o,
  input  wire [AddrBits-1:0]       rd_addr_i,
  output reg  [Cols*32-1:0]        rd_data_o
);

  reg [Cols*32-1:0] mem [0:AccEntries-1];

  reg [Mxus-1:0]     wr_valid_q;
  reg [Mxus-1:0]     wr_accumulate_q;
  reg [Mxus-1:0]     wr_last_q;
  reg [AddrBits-1:0] wr_addr_q [0:Mxus-1];
  reg [Cols*32-1:0]  wr_data_q [0:Mxus-1];
  reg [Cols*32-1:0]  new_row   [0:Mxus-1];

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) wr_valid_q <= {Mxus{1'b0}};
    else         wr_valid_q <= wr_valid_i;
  end

  // one loop variable per always block (each block owns what it assigns)
  integer i, j, c, k;
  always @(posedge clk_i) begin
    wr_accumulate_q <= wr_accumulate_i;
    wr_last_q       <= wr_last_i;
    for (i = 0; i < Mxus; i = i + 1) begin
      wr_addr_q[i] <= wr_addr_i[i*AddrBits +: AddrBits];
      wr_data_q[i] <= wr_data_i[i*Cols*32 +: Cols*32];
    end
  end

  always @* begin
    for (j = 0; j < Mxus; j = j + 1)
      for (c = 0; c < Cols; c = c + 1)
        new_row[j][c*32 +: 32] = (wr_accumulate_q[j] ? mem[wr_addr_q[j]][c*32 +: 32] : 32'd0) +
                                 wr_data_q[j][c*32 +: 32];
  end

  always @(posedge clk_i) begin
    for (k = 0; k < Mxus; k = k + 1)
      if (wr_valid_q[k]) mem[wr_addr_q[k]] <= new_row[k];
    rd_data_o <= mem[rd_addr_i];
  end

  assign mmc_done_o = wr_valid_q & wr_last_q;

`ifndef SYNTHESIS
  // The write ports are not arbitrated: race-free programs never let two MXUs write one row in
  // the same cycle (sim/isa/ISA.md); a program that does stops the simulation here.
  integer x, y;
  always @(posedge clk_i) begin
    for (x = 0; x < Mxus; x = x + 1)
      for (y = x + 1; y < Mxus; y = y + 1)
        if (wr_valid_q[x] && wr_valid_q[y])
          assert (wr_addr_q[x] != wr_addr_q[y])
          else $error("accumulator row %0d written by MXUs %0d and %0d in one cycle",
                      wr_addr_q[x], x, y);
  end
`endif

endmodule

`default_nettype wire
