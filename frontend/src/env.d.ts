declare module "*.json?abi" {
  const abi: readonly unknown[];
  export default abi;
}
