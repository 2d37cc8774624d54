/** Series colours, each at least 4.5:1 against the white background (they also colour text and thin lines). */
export const COLORS = { visitors: '#334e68', cold: '#1d4ed8', warm: '#b45309', hot: '#c81e1e' };
/** Line patterns of the temperatures, told apart without their colours (hot and warm are both reddish): hot solid. */
export const DASHES = { warm: [8, 4], cold: [2, 3] };
