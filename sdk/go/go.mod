module cwasi.io/sdk/go

go 1.24
