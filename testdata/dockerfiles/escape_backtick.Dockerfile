# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
RUN New-Item -ItemType Directory C:\app ; `
    Set-Location C:\app
ENV TOOLS="C:\tools" PATH=C:\tools;C:\Windows
COPY app\ C:\app\
WORKDIR C:\app
CMD ["powershell", "-File", "C:\\app\\start.ps1"]
