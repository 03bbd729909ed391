;; The two inner passes of Pillow's 8-bit separable resampler (libImaging/Resample.c), in WebAssembly
;; SIMD, for src/data/resize-wasm.ts. Same arithmetic as Pillow and as the TypeScript port in
;; src/data/resize.ts: per output value, HALF + sum(pixel * k) in int32, arithmetic >> 22, clamp to 0..255.
;;
;; Exactness with 16-bit multiplies: Pillow's 22-bit coefficients do not fit int16, so the caller splits
;; each one as k = hi * 2^15 + lo with lo = k & 0x7fff (0..32767) and hi = k >> 15 (-64..128). Both fit
;; int16, and i32x4.dot_i16x8_s multiplies pixel pairs by coefficient pairs exactly. Then
;;   (sum(p * hi) << 15) + sum(p * lo) == sum(p * k)   (mod 2^32, as Pillow's int arithmetic),
;; so the result is bit-identical. Taps are processed in pairs (one dot product lane = two taps); the
;; caller pads each pixel's taps to an even common count with zero coefficients (an extra 0 * p term
;; changes nothing) and pads buffers so every load stays inside memory.
;;
;; The final clamp is the two saturating narrows: int32 -> int16 (signed) -> uint8 (unsigned), which is
;; exactly clip8 for the values >> 22 can produce.
(module
  (memory (export "memory") 1)

;; Horizontal pass. For each of `rows` rows of `src` (stride `srcStride` bytes) and each output pixel x
  ;; in 0..w: taps start at src row + offs[x] (bytes, i32 array), and pixel x's coefficients are npairs
  ;; blocks of 32 bytes at coefs + x * npairs * 32: block j = [hi vector, lo vector], each 8 x i16
  ;; [k(2j), k(2j+1)] x 3 channels then [0, 0]. Writes RGB to dst + row * dstStride + 3x (dst needs 1 byte
  ;; of tail room).
  ;; Two rows at a time share each coefficient load; an odd last row is computed twice (same bytes).
  (func (export "horizontal")
    (param $src i32) (param $srcStride i32) (param $rows i32) (param $offs i32) (param $coefs i32)
    (param $npairs i32) (param $w i32) (param $dst i32) (param $dstStride i32)
    (local $srow i32) (local $drow i32) (local $srowB i32) (local $drowB i32)
    (local $x i32) (local $off i32) (local $pA i32) (local $pB i32) (local $c i32) (local $j i32) (local $o i32)
    (local $kh v128) (local $kl v128) (local $vA v128) (local $vB v128)
    (local $accAh v128) (local $accAl v128) (local $accBh v128) (local $accBl v128)
    (local.set $srow (local.get $src))
    (local.set $drow (local.get $dst))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.le_s (local.get $rows) (i32.const 0)))
        (if (i32.eq (local.get $rows) (i32.const 1))
          (then
            (local.set $srowB (local.get $srow))
            (local.set $drowB (local.get $drow)))
          (else
            (local.set $srowB (i32.add (local.get $srow) (local.get $srcStride)))
            (local.set $drowB (i32.add (local.get $drow) (local.get $dstStride)))))
        (local.set $x (i32.const 0))
        (local.set $c (local.get $coefs))
        (block $px_done
          (loop $px_loop
            (br_if $px_done (i32.ge_u (local.get $x) (local.get $w)))
            (local.set $off (i32.load (i32.add (local.get $offs) (i32.shl (local.get $x) (i32.const 2)))))
            (local.set $pA (i32.add (local.get $srow) (local.get $off)))
            (local.set $pB (i32.add (local.get $srowB) (local.get $off)))
            (local.set $accAh (v128.const i32x4 0 0 0 0))
            (local.set $accBh (v128.const i32x4 0 0 0 0))
            (local.set $accAl (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $accBl (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $j (local.get $npairs))
            (loop $tap_loop
              (local.set $kh (v128.load (local.get $c)))
              (local.set $kl (v128.load offset=16 (local.get $c)))
              ;; bytes R0 G0 B0 R1 G1 B1 -> u16 lanes R0 R1 G0 G1 B0 B1 0 0
              (local.set $vA (i8x16.swizzle
                (v128.load64_zero align=1 (local.get $pA))
                (v128.const i8x16 0 255 3 255 1 255 4 255 2 255 5 255 255 255 255 255)))
              (local.set $vB (i8x16.swizzle
                (v128.load64_zero align=1 (local.get $pB))
                (v128.const i8x16 0 255 3 255 1 255 4 255 2 255 5 255 255 255 255 255)))
              (local.set $accAh (i32x4.add (local.get $accAh) (i32x4.dot_i16x8_s (local.get $vA) (local.get $kh))))
              (local.set $accAl (i32x4.add (local.get $accAl) (i32x4.dot_i16x8_s (local.get $vA) (local.get $kl))))
              (local.set $accBh (i32x4.add (local.get $accBh) (i32x4.dot_i16x8_s (local.get $vB) (local.get $kh))))
              (local.set $accBl (i32x4.add (local.get $accBl) (i32x4.dot_i16x8_s (local.get $vB) (local.get $kl))))
              (local.set $pA (i32.add (local.get $pA) (i32.const 6)))
              (local.set $pB (i32.add (local.get $pB) (i32.const 6)))
              (local.set $c (i32.add (local.get $c) (i32.const 32)))
              (br_if $tap_loop (local.tee $j (i32.sub (local.get $j) (i32.const 1)))))
            (local.set $o (i32.mul (local.get $x) (i32.const 3)))
            (local.set $vA (i32x4.shr_s
              (i32x4.add (i32x4.shl (local.get $accAh) (i32.const 15)) (local.get $accAl))
              (i32.const 22)))
            (local.set $vB (i32x4.shr_s
              (i32x4.add (i32x4.shl (local.get $accBh) (i32.const 15)) (local.get $accBl))
              (i32.const 22)))
            ;; lanes: A's RGB, then B's RGB from byte 4 (one narrow for both rows)
            (local.set $vA (i16x8.narrow_i32x4_s (local.get $vA) (local.get $vB)))
            (local.set $vA (i8x16.narrow_i16x8_u (local.get $vA) (local.get $vA)))
            ;; Row A's pixel takes two exact stores: a 4-byte store of its last pixel would spill onto
            ;; row B's first pixel, already written. Row B's spill lands where a later store rewrites it
            ;; (its next pixel, or the next pair's row A) or in dst's 1-byte tail room.
            (local.set $pA (i32.add (local.get $drow) (local.get $o)))
            (v128.store16_lane align=1 0 (local.get $pA) (local.get $vA))
            (v128.store8_lane offset=2 2 (local.get $pA) (local.get $vA))
            (v128.store32_lane align=1 1 (i32.add (local.get $drowB) (local.get $o)) (local.get $vA))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $px_loop)))
        (local.set $srow (i32.add (local.get $srow) (i32.shl (local.get $srcStride) (i32.const 1))))
        (local.set $drow (i32.add (local.get $drow) (i32.shl (local.get $dstStride) (i32.const 1))))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 2)))
        (br $rows_loop))))

  ;; Vertical pass. Output row y (0..h) is `bytes` wide at dst + y * bytes; its taps are the rows at
  ;; src + firsts[y] + t * stride, its coefficients npairs blocks of 8 bytes at coefs + y * npairs * 8:
  ;; block j = [i32 hi pair, i32 lo pair], each packing i16 k(2j) | k(2j+1) << 16. Works 16 bytes at a
  ;; time; the last chunk of a row may read and write up to 15 bytes past it (the caller pads src and
  ;; dst; a spill into the next output row is rewritten by that row).
  (func (export "vertical")
    (param $src i32) (param $stride i32) (param $firsts i32) (param $coefs i32) (param $npairs i32)
    (param $h i32) (param $bytes i32) (param $dst i32)
    (local $y i32) (local $i i32) (local $base i32) (local $p i32) (local $c i32) (local $crow i32)
    (local $j i32) (local $cstep i32) (local $stride2 i32) (local $out i32)
    (local $a v128) (local $b v128) (local $u v128) (local $kh v128) (local $kl v128) (local $t v128)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $l0 v128) (local $l1 v128) (local $l2 v128) (local $l3 v128)
    (local.set $cstep (i32.shl (local.get $npairs) (i32.const 3)))
    (local.set $stride2 (i32.shl (local.get $stride) (i32.const 1)))
    (local.set $crow (local.get $coefs))
    (local.set $out (local.get $dst))
    (local.set $y (i32.const 0))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $h)))
        (local.set $base (i32.add (local.get $src)
          (i32.load (i32.add (local.get $firsts) (i32.shl (local.get $y) (i32.const 2))))))
        (local.set $i (i32.const 0))
        (block $chunks_done
          (loop $chunks_loop
            (br_if $chunks_done (i32.ge_u (local.get $i) (local.get $bytes)))
            (local.set $h0 (v128.const i32x4 0 0 0 0))
            (local.set $h1 (v128.const i32x4 0 0 0 0))
            (local.set $h2 (v128.const i32x4 0 0 0 0))
            (local.set $h3 (v128.const i32x4 0 0 0 0))
            (local.set $l0 (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $l1 (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $l2 (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $l3 (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $c (local.get $crow))
            (local.set $j (local.get $npairs))
            (loop $tap_loop
              (local.set $a (v128.load align=1 (local.get $p)))
              (local.set $b (v128.load align=1 (i32.add (local.get $p) (local.get $stride))))
              (local.set $kh (v128.load32_splat align=4 (local.get $c)))
              (local.set $kl (v128.load32_splat offset=4 align=4 (local.get $c)))
              ;; interleave rows a, b bytewise, then widen: u16 lanes a0 b0 a1 b1 ...
              (local.set $t (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $a) (local.get $b)))
              (local.set $u (i16x8.extend_low_i8x16_u (local.get $t)))
              (local.set $h0 (i32x4.add (local.get $h0) (i32x4.dot_i16x8_s (local.get $u) (local.get $kh))))
              (local.set $l0 (i32x4.add (local.get $l0) (i32x4.dot_i16x8_s (local.get $u) (local.get $kl))))
              (local.set $u (i16x8.extend_high_i8x16_u (local.get $t)))
              (local.set $h1 (i32x4.add (local.get $h1) (i32x4.dot_i16x8_s (local.get $u) (local.get $kh))))
              (local.set $l1 (i32x4.add (local.get $l1) (i32x4.dot_i16x8_s (local.get $u) (local.get $kl))))
              (local.set $t (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $a) (local.get $b)))
              (local.set $u (i16x8.extend_low_i8x16_u (local.get $t)))
              (local.set $h2 (i32x4.add (local.get $h2) (i32x4.dot_i16x8_s (local.get $u) (local.get $kh))))
              (local.set $l2 (i32x4.add (local.get $l2) (i32x4.dot_i16x8_s (local.get $u) (local.get $kl))))
              (local.set $u (i16x8.extend_high_i8x16_u (local.get $t)))
              (local.set $h3 (i32x4.add (local.get $h3) (i32x4.dot_i16x8_s (local.get $u) (local.get $kh))))
              (local.set $l3 (i32x4.add (local.get $l3) (i32x4.dot_i16x8_s (local.get $u) (local.get $kl))))
              (local.set $p (i32.add (local.get $p) (local.get $stride2)))
              (local.set $c (i32.add (local.get $c) (i32.const 8)))
              (br_if $tap_loop (local.tee $j (i32.sub (local.get $j) (i32.const 1)))))
            (v128.store align=1 (i32.add (local.get $out) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (i32x4.add (i32x4.shl (local.get $h0) (i32.const 15)) (local.get $l0)) (i32.const 22))
                  (i32x4.shr_s (i32x4.add (i32x4.shl (local.get $h1) (i32.const 15)) (local.get $l1)) (i32.const 22)))
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (i32x4.add (i32x4.shl (local.get $h2) (i32.const 15)) (local.get $l2)) (i32.const 22))
                  (i32x4.shr_s (i32x4.add (i32x4.shl (local.get $h3) (i32.const 15)) (local.get $l3)) (i32.const 22)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $chunks_loop)))
        (local.set $crow (i32.add (local.get $crow) (local.get $cstep)))
        (local.set $out (i32.add (local.get $out) (local.get $bytes)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows_loop))))
)
