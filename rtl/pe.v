// pe: one processing element of the weight-stationary systolic array.
//
// Activations flow west to east (act_i -> act_o), partial sums north to south
// (psum_i -> psum_o), both through one register per PE. The PE holds two int8 weights:
// `active_q`, used by the multiply, and `shadow_q`, written by the weight shift while the
// active weight computes (the TPU's double buffering).
//
// Switch: `switch_i` travels with the first activation of an `mmc switch`. In that cycle the
// multiply already uses the shadow weight and the shadow is copied into the active register,
// so the switch wavefront moves through the array exactly with the data it applies to.
// The shift that writes the shadow (weight_we_i) runs on the same diagonal as the switch
// wavefront, so this PE's shadow is rewritten no earlier than the edge at which it is copied
// (the same edge is fine: active_q takes the old value) and copied no earlier than the edge
// after it was written (sim/isa/ISA.md, "Weight path").
`default_nettype none

module pe (
  input  wire        clk_i,
  input  wire        rst_ni,
  // west -> east
  input  wire [7:0]  act_i,
  input  wire        switch_i,
  output reg  [7:0]  act_o,
  output reg         switch_o,
  // north -> south
  input  wire [31:0] psum_i,
  output reg  [31:0] psum_o,
  // shadow weight write (one array row per cycle during a weight shift)
  input  wire        weight_we_i,
  input  wire [7:0]  weight_i
);

  reg  [7:0] active_q;
  reg  [7:0] shadow_q;

  wire [7:0]         weight_eff = switch_i ? shadow_q : active_q;
  wire signed [15:0] product    = $signed(act_i) * $signed(weight_eff);

  // int32 wrap-around accumulation (numerics::wrap_add).
  always @(posedge clk_i) begin
    act_o  <= act_i;
    psum_o <= psum_i + {{16{product[15]}}, product};
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      switch_o <= 1'b0;
      active_q <= 8'd0;
      shadow_q <= 8'd0;
    end else begin
      switch_o <= switch_i;
      if (switch_i) active_q <= shadow_q;
      if (weight_we_i) shadow_q <= weight_i;
    end
  end

endmodule

`default_nettype wire
