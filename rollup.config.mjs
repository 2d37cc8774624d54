// Builds the browser snippet: sdk/src/index.ts → dist/hearth.js, one minified IIFE with no dependencies.
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';

/**
 * Declares with `let` what the source declares with `const` (the source keeps `const`, which TypeScript checks is
 * never assigned again), before terser: one keyword instead of two, and terser joins the declarations that follow one
 * another into one `let` (16 bytes of gzip). A binding never assigned again behaves the same under either keyword.
 */
const letForConst = {
  name: 'let-for-const',
  renderChunk(code) {
    const starts = [];
    const walk = (node) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node.type != 'string') return;
      if (node.type == 'VariableDeclaration' && node.kind == 'const') starts.push(node.start);
      for (const key in node) if (node[key] && typeof node[key] == 'object') walk(node[key]);
    };
    walk(this.parse(code));
    for (const start of starts.sort((a, b) => b - a)) {
      if (code.slice(start, start + 5) != 'const') throw new Error('let-for-const: no const at ' + start);
      code = code.slice(0, start) + 'let' + code.slice(start + 5);
    }
    return { code, map: null };
  },
};

export default {
  input: 'sdk/src/index.ts',
  // compact: no line break at the end of the file, a character found nowhere else in it (4 bytes of gzip).
  output: { file: 'dist/hearth.js', format: 'iife', strict: false, compact: true },
  plugins: [
    // ES2021 syntax (`||=`) runs in every browser that has crypto.randomUUID, which the snippet needs.
    esbuild({ target: 'es2021' }),
    letForConst,
    // No unsafe_arrows: it turns function expressions into arrows, but `!function(){…}()` IIFEs gzip smaller than
    // `(()=>{…})()` ones, repeating the snippet's other `function` keywords.
    terser({ ecma: 2020, module: false, toplevel: true, compress: { passes: 3, unsafe: true, pure_getters: true }, format: { comments: false } }),
  ],
};
