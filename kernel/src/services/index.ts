// was backend services (issue 5). Exports are re-exported from the package index.
export {};
