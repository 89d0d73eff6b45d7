// accumulators: AccEntries rows of Cols int32 (the matmul results), one address space shared by
// every MXU, stored in AccBanks = 2 x Mxus banks of BankRows = ceil(AccEntries / AccBanks)
// contiguous rows (sim/isa/races.h acc_bank_rows), each a synchronous 1R1W memory
// (prim/prim_ram_1r1w.v, write-through): one bank per MXU in each half of the lowering's double
// buffer. A bank has one read and one write port; the race rule's bank clause (sim/isa/ISA.md,
// "accumulator banks") lets no two units both read, or both write, one bank unless a sync orders
// them, so the ports need no arbiter: each is muxed to the one unit that addresses it, and an
// assertion stops the simulation when two do in one cycle.
//
// Write ports, one per MXU (field m of each wr_* bus): MXU m's de-skewed output row enters write
// stage register m (cycle t + i + Rows + Cols, for input row i injected at t + i) and is
// written, accumulated or overwritten, in the next cycle, t + i + timing::mxu_latency_cycles.
// An accumulating row reads its old value in the cycle it enters the stage (the
// read-modify-write read, on its bank's read port, registered); the bank's write-through returns
// a row written at that same edge, so a row sees every write before it as with an asynchronous
// read in the write cycle. mmc_done_o[m] is high in the cycle that writes an mmc's last row on
// port m (wr_last_i[m]): the controller counts MXU m's mmc complete.
// Read port (activation unit): rd_en_i and the address in cycle t, data in cycle t + 1.
// Arithmetic is int32 wrap-around (numerics::wrap_add).
`default_nettype none

module accumulators #(
  parameter integer AccEntries = 256,
  parameter integer Cols       = 4,
  parameter integer Mxus       = 1,
  localparam integer AddrBits  = $clog2(AccEntries),
  localparam integer BankRows  = (AccEntries + 2 * Mxus - 1) / (2 * Mxus),
  localparam integer AccBanks  = (AccEntries + BankRows - 1) / BankRows,
  localparam integer BankBits  = (AccBanks > 1) ? $clog2(AccBanks) : 1,
  localparam integer RowBits   = (BankRows > 1) ? $clog2(BankRows) : 1
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  input  wire [Mxus-1:0]           wr_valid_i,
  input  wire [Mxus-1:0]           wr_accumulate_i,
  input  wire [Mxus-1:0]           wr_last_i,
  input  wire [Mxus*AddrBits-1:0]  wr_addr_i,
  input  wire [Mxus*Cols*32-1:0]   wr_data_i,
  output wire [Mxus-1:0]           mmc_done_o,
  input  wire                      rd_en_i,
  input  wire [AddrBits-1:0]       rd_addr_i,
  output wire [Cols*32-1:0]        rd_data_o
);

  // A row's bank and its row within the bank (prim/prim_bank_of.svh; every preset's BankRows is
  // a power of two; the last bank has unused rows where it does not divide).
  localparam integer BankSize = BankRows, NumBanks = AccBanks, BankAddrBits = AddrBits;
`include "prim/prim_bank_of.svh"

  reg [Mxus-1:0]     wr_valid_q;
  reg [Mxus-1:0]     wr_accumulate_q;
  reg [Mxus-1:0]     wr_last_q;
  reg [AddrBits-1:0] wr_addr_q [0:Mxus-1];
  reg [Cols*32-1:0]  wr_data_q [0:Mxus-1];
  reg [BankBits-1:0] rd_bank_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) wr_valid_q <= {Mxus{1'b0}};
    else         wr_valid_q <= wr_valid_i;
  end

  // one loop variable per always block (each block owns what it assigns)
  integer i;
  always @(posedge clk_i) begin
    wr_accumulate_q <= wr_accumulate_i;
    wr_last_q       <= wr_last_i;
    for (i = 0; i < Mxus; i = i + 1) begin
      wr_addr_q[i] <= wr_addr_i[i*AddrBits +: AddrBits];
      wr_data_q[i] <= wr_data_i[i*Cols*32 +: Cols*32];
    end
    rd_bank_q <= bank_of(rd_addr_i);
  end

  // ------------------------------------------------------------------ the banks and their muxes
  // (packed buses and per-bank scalars: yosys keeps an unpacked array assigned in a combinational
  // process as a memory, with a loop through it)
  wire [AccBanks*Cols*32-1:0] bank_rdata;  // bank g's read register at field g
  wire [Mxus*Cols*32-1:0]     new_row;     // write stage m's row at field m

  // the write stages' rows: the old row read in the previous cycle from the row's bank, plus the
  // MXU's row
  genvar g, j;
  generate
    for (j = 0; j < Mxus; j = j + 1) begin : gen_stage
      wire [BankBits-1:0] bank = bank_of(wr_addr_q[j]);
      wire [Cols*32-1:0]  old  = bank_rdata[32'(bank) * Cols * 32 +: Cols * 32];
      for (g = 0; g < Cols; g = g + 1) begin : gen_lane
        assign new_row[(j * Cols + g) * 32 +: 32] =
            (wr_accumulate_q[j] ? old[g*32 +: 32] : 32'd0) + wr_data_q[j][g*32 +: 32];
      end
    end
  endgenerate

  // Bank g's read port: the activation unit's read or the read-modify-write read of the MXU row
  // entering its write stage; its write port: the MXU whose write stage holds a row of it.
  generate
    for (g = 0; g < AccBanks; g = g + 1) begin : gen_bank
      reg               re, we;
      reg [RowBits-1:0] raddr, waddr;
      reg [Cols*32-1:0] wdata;
      integer m;
      always @* begin
        re    = rd_en_i && bank_of(rd_addr_i) == BankBits'(g);
        raddr = row_of(rd_addr_i);
        we    = 1'b0;
        waddr = row_of(wr_addr_q[0]);
        wdata = new_row[0 +: Cols*32];
        for (m = 0; m < Mxus; m = m + 1) begin
          if (wr_valid_i[m] && wr_accumulate_i[m] &&
              bank_of(wr_addr_i[m*AddrBits +: AddrBits]) == BankBits'(g)) begin
            re    = 1'b1;
            raddr = row_of(wr_addr_i[m*AddrBits +: AddrBits]);
          end
          if (wr_valid_q[m] && bank_of(wr_addr_q[m]) == BankBits'(g)) begin
            we    = 1'b1;
            waddr = row_of(wr_addr_q[m]);
            wdata = new_row[m*Cols*32 +: Cols*32];
          end
        end
      end

      prim_ram_1r1w #(
        .Depth        (BankRows),
        .Width        (Cols * 32),
        .WriteThrough (1'b1)
      ) u_ram (
        .clk_i   (clk_i),
        .we_i    (we),
        .waddr_i (waddr),
        .wdata_i (wdata),
        .re_i    (re),
        .raddr_i (raddr),
        .rdata_o (bank_rdata[g*Cols*32 +: Cols*32])
      );
    end
  endgenerate

  assign rd_data_o  = bank_rdata[32'(rd_bank_q) * Cols * 32 +: Cols * 32];
  assign mmc_done_o = wr_valid_q & wr_last_q;

`ifndef SYNTHESIS
  // The bank ports are not arbitrated: race-free programs (sim/isa/ISA.md, with the bank clause)
  // never let two units read, or two MXUs write, one bank in the same cycle; a program that does
  // stops the simulation here.
  integer x, y;
  always @(posedge clk_i) begin
    for (x = 0; x < Mxus; x = x + 1) begin
      if (wr_valid_i[x] && wr_accumulate_i[x] && rd_en_i)
        assert (bank_of(wr_addr_i[x*AddrBits +: AddrBits]) != bank_of(rd_addr_i))
        else $error("accumulator bank %0d read by MXU %0d and the activation unit in one cycle",
                    bank_of(rd_addr_i), x);
      for (y = x + 1; y < Mxus; y = y + 1) begin
        if (wr_valid_i[x] && wr_accumulate_i[x] && wr_valid_i[y] && wr_accumulate_i[y])
          assert (bank_of(wr_addr_i[x*AddrBits +: AddrBits]) !=
                  bank_of(wr_addr_i[y*AddrBits +: AddrBits]))
          else $error("accumulator bank %0d read by MXUs %0d and %0d in one cycle",
                      bank_of(wr_addr_i[x*AddrBits +: AddrBits]), x, y);
        if (wr_valid_q[x] && wr_valid_q[y])
          assert (bank_of(wr_addr_q[x]) != bank_of(wr_addr_q[y]))
          else $error("accumulator bank %0d written by MXUs %0d and %0d in one cycle",
                      bank_of(wr_addr_q[x]), x, y);
      end
    end
  end
`endif

endmodule

`default_nettype wire
