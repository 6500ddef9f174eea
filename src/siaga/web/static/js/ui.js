// Preact with htm tagged templates: components in plain ES modules, no build step.
import { h, render } from "preact";
import htm from "htm";

export const html = htm.bind(h);
export { h, render };
export { useCallback, useEffect, useMemo, useRef, useState, useReducer } from "preact/hooks";
