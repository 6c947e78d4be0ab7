VI = {
    "auth.registered": "Đăng ký thành công",
    "auth.logged_in": "Đăng nhập thành công",
    "auth.refreshed": "Làm mới token thành công",
    "auth.logged_out": "Đăng xuất thành công",
    "auth.me": "Lấy thông tin tài khoản thành công",
    "auth.user_created": "Tạo tài khoản thành công",
    "auth.invalid_credentials": "Tên đăng nhập hoặc mật khẩu không đúng",
    "auth.username_taken": "Tên đăng nhập đã tồn tại",
    "auth.email_taken": "Email đã được sử dụng",
    "auth.user_not_found": "Không tìm thấy người dùng",
    "auth.too_many_attempts": "Quá nhiều lần đăng nhập thất bại, vui lòng thử lại sau {retryAfter} giây",
}

EN = {
    "auth.registered": "Registered successfully",
    "auth.logged_in": "Logged in successfully",
    "auth.refreshed": "Token refreshed successfully",
    "auth.logged_out": "Logged out successfully",
    "auth.me": "Account retrieved successfully",
    "auth.user_created": "Account created successfully",
    "auth.invalid_credentials": "Invalid username or password",
    "auth.username_taken": "Username already exists",
    "auth.email_taken": "Email already in use",
    "auth.user_not_found": "User not found",
    "auth.too_many_attempts": "Too many failed login attempts, please try again in {retryAfter} seconds",
}
