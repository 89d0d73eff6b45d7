// unified_buffer: UbVectors vectors of VecBytes int8 (the activation memory).
//
// One port per client unit; race-free programs (sim/isa/ISA.md) never let a writer and another
// unit touch the same vector in one cycle:
//   - one MXU read port per MXU (field m of mxu_addr_i / mxu_rdata_o), registered: address in
//     cycle t, data in cycle t + 1 (the "UB read register" term of
//     timing::mxu_latency_cycles); two MXUs may read the same vector;
//   - DMA port: write at the clock edge, or a registered read (address in cycle t, data in
//     t + 1; a whm's vectors, rtl/dma.v);
//   - activation write port.
`default_nettype none

module unified_buffer #(
  parameter integer UbVectors = 1024,
  parameter integer VecBytes  = 4,
  parameter integer Mxus      = 1,
  localparam integer AddrBits = $clog2(UbVectors)
) (
  input  wire                       clk_i,
  input  wire [Mxus*AddrBits-1:0]   mxu_addr_i,
  output reg  [Mxus*VecBytes*8-1:0] mxu_rdata_o,
  input  wire                       dma_we_i,
  input  wire [AddrBits-1:0]        dma_addr_i,
  input  wire [VecBytes*8-1:0]      dma_wdata_i,
  output reg  [VecBytes*8-1:0]      dma_rdata_o,
  input  wire                       act_we_i,
  input  wire [AddrBits-1:0]        act_addr_i,
  input  wire [VecBytes*8-1:0]      act_wdata_i
);

  reg [VecBytes*8-1:0] mem [0:UbVectors-1];

  integer m;
  always @(posedge clk_i) begin
    for (m = 0; m < Mxus; m = m + 1)
      mxu_rdata_o[m*VecBytes*8 +: VecBytes*8] <= mem[mxu_addr_i[m*AddrBits +: AddrBits]];
    dma_rdata_o <= mem[dma_addr_i];
    if (dma_we_i) mem[dma_addr_i] <= dma_wdata_i;
    if (act_we_i) mem[act_addr_i] <= act_wdata_i;
  end

`ifndef SYNTHESIS
  // The two write ports are not arbitrated: race-free programs never write one vector from the
  // DMA and the activation unit in the same cycle (sim/isa/ISA.md); a program that does stops
  // the simulation here instead of resolving by statement order.
  always @(posedge clk_i) begin
    if (dma_we_i && act_we_i)
      assert (dma_addr_i != act_addr_i)
      else $error("UB vector %0d written by the DMA and the activation unit in one cycle",
                  dma_addr_i);
  end
`endif

endmodule

`default_nettype wire
