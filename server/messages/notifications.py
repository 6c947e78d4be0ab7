VI = {
    "notification.listed": "Lấy danh sách thông báo thành công",
    "notification.count": "Lấy số thông báo chưa đọc thành công",
    "notification.marked_read": "Đã đánh dấu đã đọc",
    "notification.all_marked_read": "Đã đánh dấu tất cả là đã đọc",
    "notification.not_found": "Không tìm thấy thông báo",
    "notification.audience_required": "Cần userIds hoặc role",
    "notification.unknown_users": "{count} người nhận không tồn tại: {ids}",
    "notification.announcement_queued": "Thông báo đã được xếp lịch gửi",
    "notification.queue_stats": "Trạng thái hàng đợi",
    "notification.announcement.title": "Thông báo",
    "notification.announcement.body": "",
}

EN = {
    "notification.listed": "Notifications retrieved successfully",
    "notification.count": "Unread count retrieved successfully",
    "notification.marked_read": "Marked as read",
    "notification.all_marked_read": "All marked as read",
    "notification.not_found": "Notification not found",
    "notification.audience_required": "userIds or role is required",
    "notification.unknown_users": "{count} recipient(s) do not exist: {ids}",
    "notification.announcement_queued": "Announcement queued",
    "notification.queue_stats": "Queue status",
    "notification.announcement.title": "Announcement",
    "notification.announcement.body": "",
}
