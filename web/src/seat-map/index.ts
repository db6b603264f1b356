// The seat map component: build a SeatMapModel from the API, then draw it with
// SeatMapView (canvas) and, for keyboards and screen readers, SeatListView (a table),
// both sharing one SeatSelection.
export * from './model.ts';
export * from './selection.ts';
export { SeatMapView, type SeatMapViewOptions, type SeatMapTestApi, type SeatMapContainer } from './canvas-view.ts';
export { SeatListView, type SeatListViewOptions } from './list-view.ts';
export { tierColors, tierColorAt, seatColors } from './palette.ts';
export { formatPrice, seatLabel, seatPlace, seatPrice } from './describe.ts';
