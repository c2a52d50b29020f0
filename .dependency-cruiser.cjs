// dependency-cruiser: no import cycle in src/ and no import against the layer order
// written in docs/architecture.md ("The layers"). Run by `npm run lint`.
/* The layers, bottom first. A module may import from its own layer or below. Keep in
   step with docs/architecture.md. */
const layers = [
  ['base', '^src/(errors|duration|redact-secrets|package-root|canonical-json)\\.ts$'],
  ['sandbox', '^src/sandbox/'],
  ['storage', '^src/storage/'],
  ['trust-low', '^src/trust/(audit|audit-checkpoints|namespaces)\\.ts$'],
  ['cpu', '^src/cpu/'],
  ['memory', '^src/memory/'],
  ['fs', '^src/fs/'],
  ['io-tools', '^src/io/(tool|tool-registry)\\.ts$'],
  ['process', '^src/process/'],
  ['io-builtin', '^src/io/builtin/'],
  ['trust-read', '^src/trust/(?!(audit|audit-checkpoints|namespaces)\\.ts$)'],
  ['syscalls', '^src/syscalls/'],
  ['kernel', '^src/kernel\\.ts$'],
  ['cli', '^src/cli/'],
  ['index', '^src/index\\.ts$'],
  ['testing', '^src/testing/'],
];

/* Type-only upward imports still allowed, each until the change named in its `why` (layer, from,
   to, why). A runtime import along the same arrow is still an error. None is left (issue 13). */
const exemptions = [];

const layerRules = layers.slice(0, -1).flatMap(([name, path], index) => {
  const above = layers
    .slice(index + 1)
    .map(([, upper]) => `(${upper})`)
    .join('|');
  const comment = `${name} may import only from its own layer or below (docs/architecture.md, "The layers")`;
  const exempt = exemptions.filter((exemption) => exemption.layer === name);
  return [
    {
      name: `layer-${name}`,
      comment,
      severity: 'error',
      from: { path, pathNot: ['\\.test\\.ts$', ...exempt.map((exemption) => exemption.from)] },
      to: { path: above },
    },
    ...exempt.flatMap((exemption) => [
      {
        name: `layer-${name}`,
        comment,
        severity: 'error',
        from: { path: exemption.from },
        to: { path: above, pathNot: exemption.to },
      },
      {
        name: `layer-${name}-exemption-is-type-only`,
        comment: `only \`import type\` is exempt here: ${exemption.why}`,
        severity: 'error',
        from: { path: exemption.from },
        to: { path: exemption.to, dependencyTypesNot: ['type-only'] },
      },
    ]),
  ];
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'No runtime import cycle in src/. Type-only imports are erased by tsc (verbatimModuleSyntax) and ' +
        'never run, so a cycle through them is allowed within a layer; across layers the layer rules catch it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...layerRules,
    {
      name: 'in-a-layer',
      comment: 'Every module of src/ belongs to a layer: add a new top-level file or folder to `layers` and to docs/architecture.md.',
      severity: 'error',
      from: { path: '^src/', pathNot: [...layers.map(([, path]) => path), '\\.test\\.ts$'] },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    // Counts `import type` too: tsc resolves `.js` specifiers to the `.ts` sources.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts', '.json'],
    },
  },
};
