FROM node:20
ONBUILD COPY package.json /app/
ONBUILD RUN npm install
onbuild workdir /app
ONBUILD COPY --from=builder /out /app
ONBUILD CMD ["node", "index.js"]
