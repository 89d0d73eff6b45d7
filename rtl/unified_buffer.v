// unified_buffer: UbVectors vectors of VecBytes int8 (the activation memory), stored in banks of
// BankVecs = ceil(UbVectors / UbBanks) contiguous vectors (sim/isa/races.h ub_bank_vectors;
// Banks = ceil(UbVectors / BankVecs) of them hold vectors, UbBanks unless the division leaves the
// last ones empty), each a synchronous 1R1W memory (prim/prim_ram_1r1w.v, read-first). A bank
// has one read and one write port; the controller's bank interlock (sim/isa/ISA.md, "UB banks";
// rtl/controller.v) issues no instruction that would let two units both read, or both write, one
// bank in one cycle, so the ports need no arbiter: each is muxed to the one unit that addresses
// it, and an assertion stops the simulation when two do in one cycle.
//
// Readers, each registered (read enable and address in cycle t, data in cycle t + 1):
//   - MXU m (field m of mxu_re_i / mxu_addr_i / mxu_rdata_o), in the cycles it injects a row of
//     an mmc that is not `chain` (the "UB read register" term of timing::mxu_latency_cycles; a
//     chain mmc's rows come down the chain of MXUs instead, rtl/tpu_top.v);
//   - the DMA (dma_re_i), in the cycles a whm reads its vectors (rtl/dma.v).
// A reader's data is the read register of the bank it addressed in the previous cycle (each
// reader registers its bank index). In the cycle after a reader read nothing its data is
// whatever that bank's register holds, which no unit uses.
// Writers: the DMA (dma_we_i, an rhm's arriving vectors) and the activation unit (act_we_i),
// each on the write port of its vector's bank. Race-free programs never read and write one
// vector in one cycle; a bank reads the old word then (read-first), as the one array that the
// banks replaced did.
`default_nettype none

module unified_buffer #(
  parameter integer UbVectors = 1024,
  parameter integer UbBanks   = 2,
  parameter integer VecBytes  = 4,
  parameter integer Mxus      = 1,
  localparam integer AddrBits = $clog2(UbVectors),
  localparam integer BankVecs = (UbVectors + UbBanks - 1) / UbBanks,
  localparam integer Banks    = (UbVectors + BankVecs - 1) / BankVecs,
  localparam integer BankBits = (Banks > 1) ? $clog2(Banks) : 1,
  localparam integer RowBits  = (BankVecs > 1) ? $clog2(BankVecs) : 1
) (
  input  wire                       clk_i,
  input  wire [Mxus-1:0]            mxu_re_i,
  input  wire [Mxus*AddrBits-1:0]   mxu_addr_i,
  output wire [Mxus*VecBytes*8-1:0] mxu_rdata_o,
  input  wire                       dma_re_i,
  input  wire                       dma_we_i,
  input  wire [AddrBits-1:0]        dma_addr_i,
  input  wire [VecBytes*8-1:0]      dma_wdata_i,
  output wire [VecBytes*8-1:0]      dma_rdata_o,
  input  wire                       act_we_i,
  input  wire [AddrBits-1:0]        act_addr_i,
  input  wire [VecBytes*8-1:0]      act_wdata_i
);

  localparam integer Width   = VecBytes * 8;
  localparam integer Readers = Mxus + 1;  // reader k: MXU k for k < Mxus, the DMA at k = Mxus

  // A vector's bank and its row within it (prim/prim_bank_of.svh; every preset's BankVecs is a
  // power of two: tpu-v1's 96 banks of 1024 vectors, the tiny presets' 2 x Mxus; the last bank
  // has unused rows where Banks x BankVecs exceeds UbVectors). The controller's interlock uses
  // the same bank_of.
  localparam integer BankSize = BankVecs, NumBanks = Banks, BankAddrBits = AddrBits;
`include "prim/prim_bank_of.svh"

  // the readers side by side, reader k at field k
  wire [Readers-1:0]          rd_re   = {dma_re_i, mxu_re_i};
  wire [Readers*AddrBits-1:0] rd_addr = {dma_addr_i, mxu_addr_i};
  reg  [Readers*BankBits-1:0] rd_bank_q;  // the bank reader k addressed in the previous cycle

  integer i;
  always @(posedge clk_i) begin
    for (i = 0; i < Readers; i = i + 1)
      rd_bank_q[i*BankBits +: BankBits] <= bank_of(rd_addr[i*AddrBits +: AddrBits]);
  end

  // ------------------------------------------------------------------ the banks and their muxes
  // (packed buses and per-bank scalars: yosys keeps an unpacked array assigned in a combinational
  // process as a memory, with a loop through it)
  wire [Banks*Width-1:0] bank_rdata;  // bank g's read register at field g

  // Bank g's read port: the reader addressing it with its read enable; its write port: the DMA
  // or the activation unit writing a vector of it.
  genvar g, k;
  generate
    for (g = 0; g < Banks; g = g + 1) begin : gen_bank
      reg               re, we;
      reg [RowBits-1:0] raddr, waddr;
      reg [Width-1:0]   wdata;
      integer r;
      always @* begin
        re    = 1'b0;
        raddr = row_of(rd_addr[0 +: AddrBits]);
        for (r = 0; r < Readers; r = r + 1) begin
          if (rd_re[r] && bank_of(rd_addr[r*AddrBits +: AddrBits]) == BankBits'(g)) begin
            re    = 1'b1;
            raddr = row_of(rd_addr[r*AddrBits +: AddrBits]);
          end
        end
        we    = 1'b0;
        waddr = row_of(dma_addr_i);
        wdata = dma_wdata_i;
        if (dma_we_i && bank_of(dma_addr_i) == BankBits'(g)) we = 1'b1;
        if (act_we_i && bank_of(act_addr_i) == BankBits'(g)) begin
          we    = 1'b1;
          waddr = row_of(act_addr_i);
          wdata = act_wdata_i;
        end
      end

      prim_ram_1r1w #(
        .Depth        (BankVecs),
        .Width        (Width),
        .WriteThrough (1'b0)
      ) u_ram (
        .clk_i   (clk_i),
        .we_i    (we),
        .waddr_i (waddr),
        .wdata_i (wdata),
        .re_i    (re),
        .raddr_i (raddr),
        .rdata_o (bank_rdata[g*Width +: Width])
      );
    end

    // each reader's data: the read register of the bank it addressed
    for (k = 0; k < Mxus; k = k + 1) begin : gen_mxu
      assign mxu_rdata_o[k*Width +: Width] =
          bank_rdata[32'(rd_bank_q[k*BankBits +: BankBits]) * Width +: Width];
    end
  endgenerate

  assign dma_rdata_o = bank_rdata[32'(rd_bank_q[Mxus*BankBits +: BankBits]) * Width +: Width];

`ifndef SYNTHESIS
  // The bank ports are not arbitrated: the controller's bank interlock (sim/isa/ISA.md, "UB
  // banks") never lets two units read, or the DMA and the activation unit write, one bank in the
  // same cycle; a controller that did would stop the simulation here.
  integer x, y;
  always @(posedge clk_i) begin
    for (x = 0; x < Mxus; x = x + 1) begin
      for (y = x + 1; y < Mxus; y = y + 1) begin
        if (mxu_re_i[x] && mxu_re_i[y])
          assert (bank_of(mxu_addr_i[x*AddrBits +: AddrBits]) !=
                  bank_of(mxu_addr_i[y*AddrBits +: AddrBits]))
          else $error("UB bank %0d read by MXUs %0d and %0d in one cycle",
                      bank_of(mxu_addr_i[x*AddrBits +: AddrBits]), x, y);
      end
      if (mxu_re_i[x] && dma_re_i)
        assert (bank_of(mxu_addr_i[x*AddrBits +: AddrBits]) != bank_of(dma_addr_i))
        else $error("UB bank %0d read by MXU %0d and the DMA in one cycle", bank_of(dma_addr_i),
                    x);
    end
    if (dma_we_i && act_we_i)
      assert (bank_of(dma_addr_i) != bank_of(act_addr_i))
      else $error("UB bank %0d written by the DMA and the activation unit in one cycle",
                  bank_of(dma_addr_i));
  end
`endif

endmodule

`default_nettype wire
