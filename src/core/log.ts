/**
 * Natural logarithm rounded correctly to the nearest double (double-double arithmetic).
 *
 * V8's `Math.log` is within 1 ulp but not always correctly rounded, while C's `log` (which numpy
 * calls) nearly always is. The generator's normal and exponential draws go through `log`, so with
 * `Math.log` about one generated value in a hundred differed from the reference in its last bit.
 */

const SPLITTER = 134217729; // 2^27 + 1
const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;

// a*b exactly as hi + lo (Dekker)
function twoProd(a: number, b: number): [number, number] {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function ddAdd(ah: number, al: number, bh: number, bl: number): [number, number] {
  const [s, e] = twoSum(ah, bh);
  const f = e + al + bl;
  const hi = s + f;
  return [hi, f - (hi - s)];
}

function ddMul(ah: number, al: number, bh: number, bl: number): [number, number] {
  const [p, e] = twoProd(ah, bh);
  const f = e + ah * bl + al * bh;
  const hi = p + f;
  return [hi, f - (hi - p)];
}

function ddDiv(ah: number, al: number, bh: number, bl: number): [number, number] {
  const q1 = ah / bh;
  const [ph, pl] = ddMul(q1, 0, bh, bl);
  const [rh, rl] = ddAdd(ah, al, -ph, -pl);
  const q2 = rh / bh;
  const [ph2, pl2] = ddMul(q2, 0, bh, bl);
  const [r2h] = ddAdd(rh, rl, -ph2, -pl2);
  const q3 = r2h / bh;
  const [h, l] = twoSum(q1, q2);
  return ddAdd(h, l, q3, 0);
}

/**
 * `ln(x)` correctly rounded (to about 100 bits before the final rounding).
 * Falls back to `Math.log` for 0, negative, subnormal and non-finite inputs.
 */
export function log(x: number): number {
  if (!(x > 2.2250738585072014e-308) || x === Infinity) return Math.log(x);
  // x = m * 2^k with m in [sqrt(1/2), sqrt(2))
  let k = Math.floor(Math.log2(x));
  let m = x / 2 ** k;
  if (m < Math.SQRT1_2) {
    m *= 2;
    k -= 1;
  } else if (m >= Math.SQRT2) {
    m /= 2;
    k += 1;
  }
  // log(m) = 2 atanh(s), s = (m - 1) / (m + 1); m - 1 is exact for m in [0.7, 1.42]
  const [dh, dl] = twoSum(m, 1);
  const [sh, sl] = ddDiv(m - 1, 0, dh, dl);
  const [s2h, s2l] = ddMul(sh, sl, sh, sl);
  // series 1 + s^2/3 + s^4/5 + ... by Horner, |s| <= 0.1716 so 24 terms reach 1e-36
  let ph = 1 / 49;
  let pl = 0;
  for (let j = 23; j >= 0; j--) {
    const [mh, ml] = ddMul(ph, pl, s2h, s2l);
    const [ch, cl] = ddDiv(1, 0, 2 * j + 1, 0);
    [ph, pl] = ddAdd(ch, cl, mh, ml);
  }
  let [lh, ll] = ddMul(sh, sl, ph, pl);
  lh *= 2;
  ll *= 2;
  const [kh, kl] = ddMul(k, 0, LN2_HI, LN2_LO);
  const [rh, rl] = ddAdd(kh, kl, lh, ll);
  return rh + rl;
}
