// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { inlineParams } from '../../../collector/store/inline-params.ts';

describe('query parameters written into a statement', () => {
  it('become literals of the types they were declared with', () => {
    expect(
      inlineParams("SELECT {s:String}, {n:UInt32}, {f:Float64}, {t:DateTime64(3, 'UTC')}, {ids:Array(String)}, {w:Array(Float64)}, {none:Array(UInt8)}", {
        s: 'demo',
        n: 7,
        f: 0.5,
        t: '2026-11-26 10:00:00.000',
        ids: ['a', 'b'],
        w: [30, 2.5],
        none: [],
      }),
    ).toBe(
      "SELECT 'demo', CAST(7 AS UInt32), CAST(0.5 AS Float64), CAST('2026-11-26 10:00:00.000' AS DateTime64(3, 'UTC')), CAST(['a', 'b'] AS Array(String)), CAST([30, 2.5] AS Array(Float64)), CAST([] AS Array(UInt8))",
    );
  });

  it('write maps and UUIDs, and leave comments, strings and quoted names as they are', () => {
    expect(inlineParams('SELECT {m:Map(String, Int64)}, {e:Map(String, Int64)}, {u:Array(UUID)}', { m: { a: 1, "it's": -2 }, e: {}, u: ['0b6e1a3c-3f5e-4c1a-9d7e-2f4b5a6c7d8e'] })).toBe(
      "SELECT CAST(map('a', 1, 'it\\'s', -2) AS Map(String, Int64)), CAST(map() AS Map(String, Int64)), CAST(['0b6e1a3c-3f5e-4c1a-9d7e-2f4b5a6c7d8e'] AS Array(UUID))",
    );
    const untouched = "SELECT '{s:String}', \"{s:String}\", `{s:String}` -- the lead's {s:String}\n/* {s:String} */ ";
    expect(inlineParams(`${untouched}, {s:String}`, { s: 'x' })).toBe(`${untouched}, 'x'`);
  });

  it('take numbers written as text, and a number given for a string, as the client does', () => {
    expect(inlineParams('SELECT {s:String}, {n:UInt64}, {f:Float64}', { s: 5, n: '18446744073709551615', f: '-2.5e-3' })).toBe(
      "SELECT '5', CAST(18446744073709551615 AS UInt64), CAST(-2.5e-3 AS Float64)",
    );
  });

  it('escape what would end or bend a string, and never read a value as a placeholder', () => {
    expect(inlineParams('SELECT {s:String}', { s: "it's \\ {s:String}\n\0" })).toBe("SELECT 'it\\'s \\\\ {s:String}\\n\\0'");
    expect(inlineParams('SELECT {a:Array(String)}', { a: ["'); DROP TABLE events; --"] })).toBe("SELECT CAST(['\\'); DROP TABLE events; --'] AS Array(String))");
  });

  it('refuse a value of another type, a missing value and a type they cannot write', () => {
    expect(() => inlineParams('SELECT {n:UInt32}', { n: '1; DROP TABLE events' })).toThrow('query parameter n is not a value of type UInt32: "1; DROP TABLE events"');
    expect(() => inlineParams('SELECT {f:Float64}', { f: Number.NaN })).toThrow('query parameter f is not a value of type Float64: NaN');
    expect(() => inlineParams('SELECT {s:String}', { s: { toString: () => "'" } })).toThrow('query parameter s is not a value of type String: \'');
    expect(() => inlineParams("SELECT {t:DateTime64(3, 'UTC')}", { t: null })).toThrow("query parameter t is not a value of type DateTime64(3, 'UTC'): null");
    expect(() => inlineParams('SELECT {a:Array(String)}', { a: 'x' })).toThrow('query parameter a is not a value of type Array(String): "x"');
    expect(() => inlineParams('SELECT {s:String}', {})).toThrow('query parameter s has no value');
    expect(() => inlineParams('SELECT {p:Tuple(String, UInt8)}', { p: ['a', 1] })).toThrow('query parameter p has the type Tuple(String, UInt8), which cannot be written into a statement');
    expect(() => inlineParams('SELECT {m:Map(String, Int64)}', { m: ['a'] })).toThrow('query parameter m is not a value of type Map(String, Int64): a');
  });
});
