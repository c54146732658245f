FROM Alpine:3.19 AS Builder
FROM builder AS my-stage_1.0
FROM scratch AS FINAL
