// Being moved out of the kernel: see the kernel package for now.
export {};
