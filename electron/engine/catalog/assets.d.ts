/** SVG files imported as text (Vite and Vitest inline `?raw` imports). */
declare module '*.svg?raw' {
  const text: string;
  export default text;
}
