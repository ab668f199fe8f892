module github.com/ksdoctor/ksdoctor

go 1.26
