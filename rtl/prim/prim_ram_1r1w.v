// prim_ram_1r1w: a synchronous 1R1W memory, Depth words of Width bits: one write port and one
// read port on one clock, the read registered (address in cycle t, data in cycle t + 1), as an
// SRAM macro or a yosys/FPGA block RAM has them. The on-chip memories of tpu_top are instances
// of this module, so that a flow replaces one module with its SRAM (issue 25).
//
// WriteThrough: a read of the address written at the same edge returns the data written (a
// bypass mux beside the array; a transparent read port in yosys terms); without it the read
// returns the old word (read-first). Write-through lets a registered read stand in for an
// asynchronous read of the next cycle's address: the weight FIFO banks (rtl/weight_fifo.v) read
// the address their column will use one cycle ahead, so the shift timing is that of the
// asynchronous read they replaced.
//
// re_i holds rdata_o (a read enable, as the instruction fetch register needs); tie it high for a
// read every cycle. rdata_o is not reset (an SRAM's output is not).
`default_nettype none

module prim_ram_1r1w #(
  parameter integer Depth        = 16,
  parameter integer Width        = 8,
  parameter bit     WriteThrough = 1'b0,
  localparam integer AddrBits = (Depth > 1) ? $clog2(Depth) : 1
) (
  input  wire                clk_i,
  input  wire                we_i,
  input  wire [AddrBits-1:0] waddr_i,
  input  wire [Width-1:0]    wdata_i,
  input  wire                re_i,
  input  wire [AddrBits-1:0] raddr_i,
  output reg  [Width-1:0]    rdata_o
);

  reg [Width-1:0] mem [0:Depth-1];

  always @(posedge clk_i) begin
    if (we_i) mem[waddr_i] <= wdata_i;
    if (re_i) begin
      if (WriteThrough && we_i && waddr_i == raddr_i) rdata_o <= wdata_i;
      else                                            rdata_o <= mem[raddr_i];
    end
  end

endmodule

`default_nettype wire
