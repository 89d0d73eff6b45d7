; Two dense layers on any array size: 16 input vectors x tile 0 -> ReLU -> x tile 1 -> tanh,
; max-pooled over pairs of rows, written back to the host. Data comes from seeded fills.
.name mlp2
.random host 0 16 seed=1
.random weights 0 2 seed=2
rw tile=0 n=2
rhm host=0 ub=0 n=16
setc mult=1073741824        ; 0.5 in Q31 ...
setc shift=38               ; ... / 2^38: scale 2^-8
setc round=half_away
sync host
mmc ub=0 acc=0 b=16 switch
sync mxu
act acc=0 ub=16 n=16 fn=relu
sync act
mmc ub=16 acc=16 b=16 switch
sync mxu
act acc=16 ub=32 n=16 fn=tanh pool=max:2
sync act
whm host=16 ub=32 n=8
halt
