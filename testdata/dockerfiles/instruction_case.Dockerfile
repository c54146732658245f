from Alpine:3.19 as Base
Run echo one
cOpY a.txt /a.txt
workdir /x
ENTRYpoint ["sh"]
