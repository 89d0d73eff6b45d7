// unified_buffer: UbVectors vectors of VecBytes int8 (the activation memory).
//
// Three ports, one per client unit; race-free programs (sim/isa/ISA.md) never let two of them
// touch the same vector in one cycle:
//   - MXU read port, registered: address in cycle t, data on mxu_rdata_o in cycle t + 1
//     (the "UB read register" term of timing::mxu_latency_cycles);
//   - DMA port: combinational read, write at the clock edge;
//   - activation write port.
`default_nettype none

module unified_buffer #(
  parameter integer UbVectors = 1024,
  parameter integer VecBytes  = 4,
  localparam integer AddrBits = $clog2(UbVectors)
) (
  input  wire                  clk_i,
  input  wire [AddrBits-1:0]   mxu_addr_i,
  output reg  [VecBytes*8-1:0] mxu_rdata_o,
  input  wire                  dma_we_i,
  input  wire [AddrBits-1:0]   dma_addr_i,
  input  wire [VecBytes*8-1:0] dma_wdata_i,
  output wire [VecBytes*8-1:0] dma_rdata_o,
  input  wire                  act_we_i,
  input  wire [AddrBits-1:0]   act_addr_i,
  input  wire [VecBytes*8-1:0] act_wdata_i
);

  reg [VecBytes*8-1:0] mem [0:UbVectors-1];

  always @(posedge clk_i) begin
    mxu_rdata_o <= mem[mxu_addr_i];
    if (dma_we_i) mem[dma_addr_i] <= dma_wdata_i;
    if (act_we_i) mem[act_addr_i] <= act_wdata_i;
  end

  assign dma_rdata_o = mem[dma_addr_i];

endmodule

`default_nettype wire
