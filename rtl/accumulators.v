// accumulators: AccEntries rows of Cols int32 (the matmul results).
//
// Write port: the array's de-skewed output row enters a write-stage register (cycle
// t + i + Rows + Cols, for input row i injected at t + i) and is written, accumulated or
// overwritten, in the next cycle, t + i + timing::mxu_latency_cycles. mmc_done_o is high in the
// cycle that writes an mmc's last row (wr_last_i): the controller counts the mmc complete.
// Read port (activation unit): registered, address in cycle t, data in cycle t + 1.
// Arithmetic is int32 wrap-around (numerics::wrap_add).
`default_nettype none

module accumulators #(
  parameter integer AccEntries = 256,
  parameter integer Cols       = 4,
  localparam integer AddrBits  = $clog2(AccEntries)
) (
  input  wire                 clk_i,
  input  wire                 rst_ni,
  input  wire                 wr_valid_i,
  input  wire                 wr_accumulate_i,
  input  wire                 wr_last_i,
  input  wire [AddrBits-1:0]  wr_addr_i,
  input  wire [Cols*32-1:0]   wr_data_i,
  output wire                 mmc_done_o,
  input  wire [AddrBits-1:0]  rd_addr_i,
  output reg  [Cols*32-1:0]   rd_data_o
);

  reg [Cols*32-1:0] mem [0:AccEntries-1];

  reg                wr_valid_q;
  reg                wr_accumulate_q;
  reg                wr_last_q;
  reg [AddrBits-1:0] wr_addr_q;
  reg [Cols*32-1:0]  wr_data_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) wr_valid_q <= 1'b0;
    else         wr_valid_q <= wr_valid_i;
  end

  always @(posedge clk_i) begin
    wr_accumulate_q <= wr_accumulate_i;
    wr_last_q       <= wr_last_i;
    wr_addr_q       <= wr_addr_i;
    wr_data_q       <= wr_data_i;
  end

  wire [Cols*32-1:0] old_row = mem[wr_addr_q];
  reg  [Cols*32-1:0] new_row;
  integer c;
  always @* begin
    for (c = 0; c < Cols; c = c + 1)
      new_row[c*32 +: 32] = (wr_accumulate_q ? old_row[c*32 +: 32] : 32'd0) + wr_data_q[c*32 +: 32];
  end

  always @(posedge clk_i) begin
    if (wr_valid_q) mem[wr_addr_q] <= new_row;
    rd_data_o <= mem[rd_addr_i];
  end

  assign mmc_done_o = wr_valid_q && wr_last_q;

endmodule

`default_nettype wire
