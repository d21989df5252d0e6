// The App framework (issue 3). Exports are re-exported from the package index.
export {};
