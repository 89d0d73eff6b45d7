// prim_bank_of.svh: where an address lies in a memory of contiguous banks, for the modules that
// bank one (rtl/unified_buffer.v, rtl/accumulators.v) and the controller's UB bank interlock
// (rtl/controller.v), so the three agree by construction. Included inside a module body, which
// defines the localparams
//   BankSize      entries per bank (the last bank may hold fewer)
//   NumBanks      banks that hold entries: ceil(entries / BankSize)
//   BankAddrBits  width of an address
//   BankBits      width of a bank index (1 at least)
//   RowBits       width of a row within a bank (1 at least)
// bank_of(a): a's bank, a / BankSize; row_of(a): its row in that bank. Where BankSize is a power
// of two (every preset) both are bit fields; else bank_of compares a with each bank's first
// address, which synthesizes to NumBanks - 1 comparators instead of a divider.
localparam bit BankPow2 = (BankSize & (BankSize - 1)) == 0;
localparam integer BankShift = $clog2(BankSize);
localparam [BankAddrBits-1:0] RowMask = BankAddrBits'(BankSize - 1);
function automatic [BankBits-1:0] bank_of(input [BankAddrBits-1:0] a);
  integer b;
  if (BankPow2) begin
    bank_of = BankBits'(a >> BankShift);
  end else begin
    bank_of = {BankBits{1'b0}};
    for (b = 1; b < NumBanks; b = b + 1)
      if (32'(a) >= 32'(b * BankSize)) bank_of = BankBits'(b);
  end
endfunction
function automatic [RowBits-1:0] row_of(input [BankAddrBits-1:0] a);
  if (BankPow2) row_of = RowBits'(a & RowMask);
  else          row_of = RowBits'(32'(a) - 32'(bank_of(a)) * BankSize);
endfunction
