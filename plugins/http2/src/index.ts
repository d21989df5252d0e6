// Not built yet: this package is a placeholder.
export {};
